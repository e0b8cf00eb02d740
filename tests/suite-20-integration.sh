#!/bin/sh
# Integration tests of the azmi command against the local Azure stand-in.
exec sh "$(dirname "$0")/integration/run.sh" "$@"
