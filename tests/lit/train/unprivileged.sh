#!/usr/bin/env bash
# unprivileged.sh - runs a command as an ordinary user, so that file
# permissions apply to it: as root (containers, CI) through setpriv as
# nobody; as anyone else, directly.  Used by train_unwritable_save.test,
# where a read-only folder must really be unwritable.
if [ "$(id -u)" -eq 0 ]; then
    exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
fi
exec "$@"
