/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Restart rate limiting for the manager: exponential backoff between quick
 * deaths, and giving up after too many deaths in a sliding window.  Pure
 * arithmetic on caller-supplied times, so a test can drive it with a fake
 * clock.
 */
#include "config.h"

#include <string.h>

#include "manager-internal.h"
#include "vtpm-internal.h"

void vtpm_restart_limit_init(struct vtpm_restart_limit *rl, unsigned int burst,
			     int64_t interval_ms)
{
	memset(rl, 0, sizeof(*rl));
	rl->burst = burst < 1 ? 1 : burst > VTPM_RESTART_BURST_MAX ? VTPM_RESTART_BURST_MAX : burst;
	rl->interval_ms = interval_ms > 0 ? interval_ms : 1;
}

void vtpm_restart_limit_reset(struct vtpm_restart_limit *rl)
{
	rl->n_deaths = 0;
	rl->quick_deaths = 0;
}

int64_t vtpm_restart_limit_record(struct vtpm_restart_limit *rl, int64_t now, int64_t started)
{
	unsigned int kept = 0;
	int64_t delay = VTPM_RESTART_DELAY_MIN_MS;

	/* Slide the window: keep only deaths within the interval. */
	for (unsigned int i = 0; i < rl->n_deaths; i++)
		if (now - rl->deaths[i] < rl->interval_ms)
			rl->deaths[kept++] = rl->deaths[i];
	rl->n_deaths = kept;
	rl->deaths[rl->n_deaths++] = now;
	if (rl->n_deaths > rl->burst)
		return -1;

	/* An instance that ran for a whole interval was healthy: no backoff. */
	if (now - started >= rl->interval_ms)
		rl->quick_deaths = 0;
	rl->quick_deaths++;
	for (unsigned int i = 1; i < rl->quick_deaths && delay < VTPM_RESTART_DELAY_MAX_MS; i++)
		delay *= 2;
	return delay < VTPM_RESTART_DELAY_MAX_MS ? delay : VTPM_RESTART_DELAY_MAX_MS;
}
