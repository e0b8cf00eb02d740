#!/bin/sh
# 25-serve: `azmi serve` against the stand-in, inside the integration tests'
# private network namespace: protocol, refusals, limits, and the Azure SDKs
# (Python azure-identity, Node @azure/identity) getting tokens through it.
AZMI_SUITE_NAME=25-serve exec sh "$(dirname "$0")/integration/run.sh" serve_protocol "$@"
