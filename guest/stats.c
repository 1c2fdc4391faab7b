/* Network counters of the VM for STATS, from /proc/net/dev and /proc/net/snmp. */
#define _GNU_SOURCE
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_net_dev(struct net_stats *s)
{
	FILE *f = fopen("/proc/net/dev", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue; /* the two header lines */
		*colon = 0;
		char *name = line + strspn(line, " ");
		if (strcmp(name, "lo") == 0)
			continue;
		unsigned long long v[16] = { 0 };
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
			   &v[4], &v[5], &v[6], &v[7], &v[8]) == 9) {
			s->rx_bytes += v[0];
			s->tx_bytes += v[8];
		}
	}
	fclose(f);
}

/* The value of column `want` in the "Tcp:" value line (the line after the "Tcp:" header line). */
static long long tcp_field(const char *header, const char *values, const char *want)
{
	char h[1024], v[1024];
	snprintf(h, sizeof h, "%s", header);
	snprintf(v, sizeof v, "%s", values);
	char *hs, *vs;
	char *hn = strtok_r(h, " \n", &hs), *vn = strtok_r(v, " \n", &vs);
	while (hn && vn) {
		if (strcmp(hn, want) == 0)
			return strtoll(vn, NULL, 10);
		hn = strtok_r(NULL, " \n", &hs);
		vn = strtok_r(NULL, " \n", &vs);
	}
	return 0;
}

static void read_snmp(struct net_stats *s)
{
	FILE *f = fopen("/proc/net/snmp", "re");
	if (!f)
		return;
	char header[1024], values[1024];
	while (fgets(header, sizeof header, f)) {
		if (strncmp(header, "Tcp:", 4) != 0)
			continue;
		if (!fgets(values, sizeof values, f))
			break;
		long long est = tcp_field(header, values, "CurrEstab");
		s->tcp_conns = est > 0 ? (uint32_t)est : 0;
		static const char *const errs[] = { "AttemptFails", "EstabResets", "InErrs" };
		for (size_t i = 0; i < 3; i++) {
			long long n = tcp_field(header, values, errs[i]);
			if (n > 0)
				s->tcp_errors += (uint64_t)n;
		}
		break;
	}
	fclose(f);
}

void stats_read(struct net_stats *s)
{
	memset(s, 0, sizeof *s);
	read_net_dev(s);
	read_snmp(s);
}
