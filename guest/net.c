/* The VM's network: loopback, and eth0 with the fixed address the host's network process (passt) expects. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

#define NET_MTU 65520       /* passt's default: the largest 802.3 frame it carries */
#define RESOLV_CONF "/run/resolv.conf"

static void set_addr(struct sockaddr *sa, const char *ip)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	memset(in, 0, sizeof *in);
	in->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &in->sin_addr);
}

static int if_up(int fd, const char *name)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
		logmsg("bringing up %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

/* eth0 appears once virtio_net has probed; modules are loaded before this, so a short wait is enough. */
static int wait_for_eth0(int fd)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "eth0");
	for (int i = 0; i < 100; i++) {
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
			return 0;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

void net_configure(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		logmsg("network socket: %s", strerror(errno));
		return;
	}
	if_up(fd, "lo");
	if (wait_for_eth0(fd) != 0) {
		close(fd); /* a VM without a NIC: loopback only */
		return;
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "eth0");
	set_addr(&ifr.ifr_addr, NET_GUEST_ADDR);
	if (ioctl(fd, SIOCSIFADDR, &ifr) != 0)
		logmsg("eth0 address: %s", strerror(errno));
	set_addr(&ifr.ifr_netmask, "255.255.255.0");
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) != 0)
		logmsg("eth0 netmask: %s", strerror(errno));
	ifr.ifr_mtu = NET_MTU;
	if (ioctl(fd, SIOCSIFMTU, &ifr) != 0)
		logmsg("eth0 mtu: %s", strerror(errno));
	if (if_up(fd, "eth0") == 0) {
		struct rtentry rt = { 0 };
		set_addr(&rt.rt_dst, "0.0.0.0");
		set_addr(&rt.rt_genmask, "0.0.0.0");
		set_addr(&rt.rt_gateway, NET_GATEWAY);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = "eth0";
		if (ioctl(fd, SIOCADDRT, &rt) != 0 && errno != EEXIST)
			logmsg("default route: %s", strerror(errno));
	}
	close(fd);
}

void net_resolv_conf(const char *root)
{
	int out = open(RESOLV_CONF, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || dprintf(out, "nameserver %s\n", NET_DNS) < 0) {
		logmsg("writing %s: %s", RESOLV_CONF, strerror(errno));
		if (out >= 0)
			close(out);
		return;
	}
	close(out);
	char etc[512], target[512];
	snprintf(etc, sizeof etc, "%s/etc", root);
	snprintf(target, sizeof target, "%s/etc/resolv.conf", root);
	struct stat st;
	if (lstat(etc, &st) != 0 || !S_ISDIR(st.st_mode))
		return; /* no /etc (or a symlink we will not follow): the image has no use for DNS settings */
	if (lstat(target, &st) != 0) {
		int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return;
		close(fd);
	} else if (!S_ISREG(st.st_mode)) {
		return; /* a symlink (e.g. to systemd-resolved's file) is left as the image made it */
	}
	if (mount(RESOLV_CONF, target, NULL, MS_BIND, NULL) != 0)
		logmsg("bind-mounting %s: %s", target, strerror(errno));
}
