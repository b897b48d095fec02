#!/bin/bash
# The story's call path as one system under test for ../shared/bench/sip
# (SUT=cmd): Kamailio 5.6 relaying with tm, its rtpengine module sending
# offer / answer / delete over NG, and rtpengine 10.5 in userspace
# (--table=-1) allocating and rewriting — what callpath with its relay on
# replaces. Both run in the foreground of this process group, so the
# harness sums their CPU and stops them together.
# Env from the harness: SUT_PORT UAS_HOST UAS_PORT BENCH_RUN_DIR.
# KAM_CHILDREN (default 4) and memory (-m 512 -M 16) as the harness gives its own Kamailio, RTPE_NG_PORT (22230).
# SHARED_BENCH: the harness folder (default ../shared/bench beside the repository).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CFG="$HERE/../fixtures/kamailio/rtpengine-ng.cfg"
RUN=${BENCH_RUN_DIR:-$(mktemp -d)}
NG_PORT=${RTPE_NG_PORT:-22230}

rtpengine --config-file=none --foreground --pidfile="$RUN/rtpengine.pid" --log-stderr --log-level=4 --interface=127.0.0.1 \
  --listen-ng="127.0.0.1:$NG_PORT" --port-min=16384 --port-max=32767 --table=-1 --timeout=60 --final-timeout=7200 --delete-delay=0 \
  2>>"$RUN/rtpengine.log" &
RPID=$!
trap 'kill $RPID ${KPID:-} 2>/dev/null' EXIT INT TERM
# Kamailio's module pings rtpengine at start and disables one that does not answer.
for _ in $(seq 50); do
  node "${SHARED_BENCH:-$HERE/../../../shared/bench}/rtp/ng.js" ping --ng "127.0.0.1:$NG_PORT" >/dev/null 2>&1 && break
  sleep 0.2
done
kamailio -f "$CFG" -DD -E -n "${KAM_CHILDREN:-4}" -m 512 -M 16 -Y "$RUN" -l "udp:127.0.0.1:$SUT_PORT" \
  -A "UAS=\"sip:$UAS_HOST:$UAS_PORT\"" -A "NG=\"udp:127.0.0.1:$NG_PORT\"" 2>>"$RUN/kamailio.log" &
KPID=$!
wait $KPID
