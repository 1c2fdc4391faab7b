/* Network counters of the VM for STATS, from /proc/net/dev and /proc/net/snmp. */
#ifndef BOXLITE_STATS_H
#define BOXLITE_STATS_H

#include <stdint.h>

struct net_stats {
	uint64_t rx_bytes, tx_bytes; /* every interface but lo */
	uint32_t tcp_conns;          /* Tcp CurrEstab */
	uint64_t tcp_errors;         /* Tcp AttemptFails + EstabResets + InErrs */
};

/* Fill s; counters that cannot be read stay 0. */
void stats_read(struct net_stats *s);

#endif
