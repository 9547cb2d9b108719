/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvtpm: software TPMs for containers through the Linux vTPM proxy driver.
 * Include this header for the whole API; see libvtpm(3).
 *
 * Rules every header follows (libvtpm(3), CONVENTIONS):
 *  - errors are negative errnos; each function's comment names every one
 *    it can return;
 *  - a constructor takes a ctx only when no argument carries one; else the
 *    new object belongs to the context of its first argument;
 *  - a call taking an fd borrows it: an object keeps a duplicate, and the
 *    caller's fd is never closed (the deprecated vtpm_ctrl_new_fd() and
 *    vtpm_relay_new_fd() excepted);
 *  - one thread at a time per context and its objects, except
 *    vtpm_relay_stop() and vtpm_manager_stop(); the manager forks without
 *    exec (see ctx.h and manager.h).
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
#include <vtpm/handover.h>
#include <vtpm/ctrl.h>
#include <vtpm/state.h>
#include <vtpm/manager.h>
#include <vtpm/process.h>
#include <vtpm/manufacture.h>

#endif
