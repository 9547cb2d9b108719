/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvtpm: software TPMs for containers through the Linux vTPM proxy driver.
 * Include this header for the whole API; see libvtpm(3).
 */
#ifndef VTPM_VTPM_H
#define VTPM_VTPM_H

#include <vtpm/ctx.h>
#include <vtpm/device.h>
#include <vtpm/backend.h>
#include <vtpm/relay.h>
#include <vtpm/sandbox.h>
#include <vtpm/rules.h>
#include <vtpm/container.h>
#include <vtpm/ctrl.h>
#include <vtpm/state.h>
#include <vtpm/manager.h>
#include <vtpm/process.h>
#include <vtpm/manufacture.h>

#endif
