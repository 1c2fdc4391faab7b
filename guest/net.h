/* The VM's network: loopback, and eth0 with the fixed address the host's network process (passt) expects. */
#ifndef BOXLITE_NET_H
#define BOXLITE_NET_H

#define NET_GUEST_ADDR "10.0.2.15"
#define NET_PREFIX_LEN 24
#define NET_GATEWAY "10.0.2.2"
#define NET_DNS "10.0.2.3"

/* Bring up lo and, when the VM has one, eth0 (address, MTU, default route). Failures are logged, not fatal. */
void net_configure(void);
/* Make <root>/etc/resolv.conf name the VM's DNS forwarder (a bind mount over the image's file, as Docker does). */
void net_resolv_conf(const char *root);

#endif
