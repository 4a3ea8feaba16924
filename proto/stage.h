/* SPDX-License-Identifier: MIT */
/*
 * The one table of names of the wire's Stage enum (spawnd.proto), shared by
 * the daemon (audit records), libspawnd (spawnd_stage_to_string()) and so
 * spawnctl (its messages). check_wire proves that every value of the enum
 * has a name, so a new stage cannot be left out.
 */
#ifndef SPAWND_STAGE_H
#define SPAWND_STAGE_H

/* The name of a Stage value ("decode", "fd setup", ...), or NULL if it has none. */
const char *wire_stage_name(int stage);

#endif
