#!/usr/bin/env bash
# lab/selftest.sh - prove, with the real MIT tools, getent and python, that
# every piece of the lab behaves as lab/README.md says.
#
# Usage: lab/run -- lab/selftest.sh [-v]
#   -v  print every command's output, not only for failures
# Prints one "ok - ..." / "not ok - ..." line per check (with the exact
# message the tool printed where that is the point of the check), and ends
# with "N passed, N failed". Exit status 0 only if nothing failed.
# Takes ~20 s: the kuro-ad04 kinit (silently dropped packets) runs in the
# background while the other checks run.
set -uo pipefail

verbose=0
[[ ${1:-} == -v ]] && verbose=1

if [[ ${KRBPROBE_LAB:-} != 1 ]]; then
    echo "selftest: not inside the lab; run: lab/run -- lab/selftest.sh" >&2
    exit 2
fi

T=$KRBPROBE_LAB_TOOLS
C=$KRBPROBE_LAB_KRB5_CONFS
PW=$KRBPROBE_LAB_PASSWORD
PY=${KRBPROBE_LAB_PYTHON:-python3}
D=$KRBPROBE_LAB_DOMAIN
R=$KRBPROBE_LAB_REALM
WORK=$(mktemp -d "$KRBPROBE_LAB_DIR/selftest.XXXXXX")
export KRB5CCNAME=FILE:$WORK/cc_default

passed=0
failed=0
OUT=
RC=0
ELAPSED=0

now_ms() { local t=${EPOCHREALTIME/./}; echo $(( ${t#0} / 1000 )); }

# run CMD...: capture combined output in OUT, status in RC, time in ELAPSED (ms)
run() {
    local s
    s=$(now_ms)
    OUT=$("$@" 2>&1)
    RC=$?
    ELAPSED=$(( $(now_ms) - s ))
}

# sed, not ${OUT//...}: the prefix goes on every line, the first one included.
# shellcheck disable=SC2001
show() { sed 's/^/      | /' <<<"$OUT"; }

# result NAME COND-STATUS [NOTE]
result() {
    local name=$1 ok=$2 note=${3:-}
    if [[ $ok -eq 0 ]]; then
        passed=$((passed + 1))
        echo "ok - $name${note:+  [$note]}"
        [[ $verbose -eq 0 ]] || show
    else
        failed=$((failed + 1))
        echo "not ok - $name${note:+  [$note]} (rc=$RC, ${ELAPSED}ms)"
        show
    fi
}

rc_ok() { # WANT: 0 | fail | any | =N
    case "$1" in
        0) [[ $RC -eq 0 ]] ;;
        fail) [[ $RC -ne 0 ]] ;;
        any) true ;;
        =*) [[ $RC -eq ${1#=} ]] ;;
    esac
}

# expect NAME RC-WANT ERE -- CMD...: run CMD, check status + output (ERE may be empty)
expect() {
    local name=$1 want_rc=$2 re=$3 ok=0 note
    shift 4
    run "$@"
    rc_ok "$want_rc" || ok=1
    if [[ -n "$re" ]] && ! grep -Eq -- "$re" <<<"$OUT"; then ok=1; fi
    note=$(grep -E -m1 -- '^(kinit|kvno|klist): ' <<<"$OUT" || true)
    if [[ -n "$note" && -n "$re" ]] && ! grep -Eq -- "$re" <<<"$note"; then
        note="$(grep -E -m1 -- "$re" <<<"$OUT") / $note"
    fi
    result "$name" "$ok" "$note"
}

# expect_lines NAME RC-WANT LINES [WWW-AUTH] -- CMD...: every line of LINES must
# appear verbatim in the output; if WWW-AUTH is given, the WWW-Authenticate
# headers must be exactly those (newline-separated values, in order).
expect_lines() {
    local name=$1 want_rc=$2 lines=$3 www=NONE ok=0 l
    shift 3
    if [[ $1 != -- ]]; then www=$1; shift; fi
    shift
    run "$@"
    rc_ok "$want_rc" || ok=1
    while IFS= read -r l; do
        [[ -z "$l" ]] || grep -Fxq -- "$l" <<<"$OUT" || ok=1
    done <<<"$lines"
    if [[ $www != NONE ]]; then
        [[ "$(sed -n 's/^header WWW-Authenticate: //p' <<<"$OUT")" == "$www" ]] || ok=1
    fi
    result "$name" "$ok"
}

kinit_pw() { # [KRB5_CONFIG] PRINCIPAL [PASSWORD]: kinit with the password on stdin
    local conf=$1 princ=$2 pw=${3:-$PW}
    printf '%s\n' "$pw" | KRB5_CONFIG=$conf "$T/kinit" "$princ"
}

# -------------------------------------------------------------------------
# Long one first, in the background: kinit against kuro-ad04 (port 88
# silently dropped) only gives up when MIT's own timeouts run out.
AD04_OUT=$WORK/ad04.out
(
    s=$(now_ms)
    printf '%s\n' "$PW" | KRB5_CONFIG=$C/ad04.conf KRB5CCNAME=FILE:$WORK/cc_ad04 \
        timeout 60 "$T/kinit" awx >"$AD04_OUT.log" 2>&1
    echo "rc=$? elapsed_ms=$(( $(now_ms) - s ))" > "$AD04_OUT"
) &
AD04_PID=$!

echo "# lab: $KRBPROBE_LAB_DIR (knobs: ${KRBPROBE_LAB_KNOBS:-none})"

# ---------------------------------------------------------------- namespace
echo "# namespace"
expect "/etc is the lab's private overlay" 0 'overlay|/etc' -- findmnt -n -o FSTYPE,TARGET /etc
expect "/etc/resolv.conf points at the lab DNS" 0 "^nameserver $KRBPROBE_LAB_DNS\$" -- cat /etc/resolv.conf
expect "/etc/krb5.conf is the AWX-style config" 0 "kdc = kuro-ad01\.$D" -- cat /etc/krb5.conf

# ---------------------------------------------------------------- DNS
echo "# DNS (dnsmasq on $KRBPROBE_LAB_DNS)"
# The names and addresses come from the plan lab/run wrote from lab/scenarios.toml.
declare -A A_RECORDS=() PTRS=()
while IFS=$'\t' read -r name _fqdn ip kind _spn ptr; do
    [[ $name == '#'* || $kind == nodns ]] && continue
    A_RECORDS[$name]=$ip
    PTRS[$ip]=$ptr
done < "$KRBPROBE_LAB_PLAN/hosts.tsv"
ip_of() { echo "${A_RECORDS[$1]}"; }
bad_a=() bad_aaaa=()
for h in "${!A_RECORDS[@]}"; do
    run getent ahostsv4 "$h.$D"
    grep -Eq "^${A_RECORDS[$h]//./\\.}[[:space:]]+STREAM $h\\.$D\$" <<<"$OUT" || bad_a+=("$h")
    run "$PY" -m krblab.dnsq "$h.$D" AAAA
    grep -q '^rcode=NOERROR .* answers=0$' <<<"$OUT" || bad_aaaa+=("$h:$(head -1 <<<"$OUT")")
done
OUT="wrong: ${bad_a[*]}"; result "getent ahostsv4 (glibc, AI_ADDRCONFIG): A record of all ${#A_RECORDS[@]} hosts" "${#bad_a[@]}"
OUT="wrong: ${bad_aaaa[*]}"; result "AAAA of every A name is NOERROR/no data (musl-safe)" "${#bad_aaaa[@]}"
bad_ptr=()
for ip in "${!PTRS[@]}"; do
    run getent hosts "$ip"
    [[ "$OUT" == "$ip"*" ${PTRS[$ip]}.$D" ]] || bad_ptr+=("$ip:$OUT")
done
OUT="wrong: ${bad_ptr[*]}"; result "getent: PTR of all ${#PTRS[@]} addresses (127.0.0.24 -> kuro-web05)" "${#bad_ptr[@]}"
expect "PTR 127.0.0.24 has exactly one answer: kuro-web05" 0 "answers=1\$" -- "$PY" -m krblab.dnsq 127.0.0.24 PTR
expect "short name kuro-win01 resolves via 'search $D'" 0 "^127\.0\.0\.20[[:space:]]+kuro-win01\.$D\$" -- getent hosts kuro-win01
expect "python getaddrinfo(kuro-win01:5985, AI_ADDRCONFIG)" 0 "^\('127\.0\.0\.20', 5985\)\$" -- \
    "$PY" -c "import socket; print(sorted({ai[4] for ai in socket.getaddrinfo('kuro-win01.$D', 5985, proto=socket.IPPROTO_TCP, flags=socket.AI_ADDRCONFIG)})[0])"
expect "python gethostbyaddr(127.0.0.24) = kuro-web05 (PTR mismatch)" 0 "^kuro-web05\.$D\$" -- \
    "$PY" -c "import socket; print(socket.gethostbyaddr('127.0.0.24')[0])"
for h in kuro-missing kuro-nokdc; do
    expect "getent: $h.$D does not exist (status 2)" =2 '' -- getent hosts "$h.$D"
    expect "$h.$D A and AAAA are NXDOMAIN (not REFUSED/SERVFAIL)" 0 '' -- \
        bash -c "$PY -m krblab.dnsq $h.$D A | grep -q '^rcode=NXDOMAIN' && $PY -m krblab.dnsq $h.$D AAAA | grep -q '^rcode=NXDOMAIN'"
done
expect "python getaddrinfo(kuro-missing) fails with 'Name or service not known'" fail 'not known|No address' -- \
    "$PY" -c "import socket; socket.getaddrinfo('kuro-missing.$D', 5985)"
expect "a name outside the lab is NXDOMAIN, not REFUSED" 0 '^rcode=NXDOMAIN' -- "$PY" -m krblab.dnsq www.example.com A
# musl's resolver (the static krbprobe's libc): A+AAAA sent together, any
# REFUSED/SERVFAIL fails the lookup. Only if musl-gcc is installed.
if command -v musl-gcc >/dev/null 2>&1; then
    cat > "$WORK/gai.c" <<'CEOF'
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        struct addrinfo hints, *res = 0;
        char buf[64];
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_ADDRCONFIG;
        int e = getaddrinfo(argv[i], "5985", &hints, &res);
        if (e) { printf("%s error %d %s\n", argv[i], e, gai_strerror(e)); continue; }
        inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, buf, sizeof buf);
        printf("%s %s\n", argv[i], buf);
        freeaddrinfo(res);
    }
    return 0;
}
CEOF
    if musl-gcc -static -o "$WORK/gai" "$WORK/gai.c" 2>"$WORK/gai.err"; then
        expect_lines "musl getaddrinfo: lab names resolve, missing ones are 'Name does not resolve'" 0 \
"kuro-win01.$D 127.0.0.20
kuro-win01 127.0.0.20
kuro-web05.$D 127.0.0.24
kuro-ad04.$D 127.0.0.13
kuro-missing.$D error -2 Name does not resolve
kuro-nokdc error -2 Name does not resolve" -- \
            "$WORK/gai" "kuro-win01.$D" kuro-win01 "kuro-web05.$D" "kuro-ad04.$D" "kuro-missing.$D" kuro-nokdc
    else
        OUT=$(cat "$WORK/gai.err"); RC=1; result "musl-gcc could compile the getaddrinfo check" 1
    fi
else
    echo "# (musl-gcc not installed: musl resolver check skipped)"
fi
for srv in "_kerberos._udp.$R" "_kerberos._tcp.$R" "_kerberos._udp.$D" "_kerberos._tcp.$D"; do
    expect "SRV $srv -> kuro-ad01:88" 0 "SRV [0-9]+ 0 100 88 kuro-ad01\.$D\.\$" -- "$PY" -m krblab.dnsq "$srv" SRV
done

# ---------------------------------------------------------------- Kerberos
echo "# Kerberos (MIT $("$T/klist" -V 2>&1 | awk '{print $NF}'))"
expect "kinit awx@$R (password on stdin) via /etc/krb5.conf -> kuro-ad01" 0 '' -- kinit_pw /etc/krb5.conf "awx@$R"
expect "klist shows the TGT" 0 "krbtgt/$R@$R" -- "$T/klist"
expect "kvno HTTP/kuro-win01.$D succeeds" 0 "HTTP/kuro-win01\.$D@$R: kvno = [0-9]+" -- "$T/kvno" "HTTP/kuro-win01.$D"
expect "kvno HTTP/kuro-win05.$D succeeds" 0 'kvno = ' -- "$T/kvno" "HTTP/kuro-win05.$D"
expect "kvno HTTP/kuro-win02.$D: no SPN" fail 'Server not found in Kerberos database|not found in Kerberos database' -- \
    "$T/kvno" "HTTP/kuro-win02.$D"
expect "kvno HTTP/kuro-web05.$D (name from PTR): no SPN" fail 'not found in Kerberos database' -- \
    "$T/kvno" "HTTP/kuro-web05.$D"
expect "kvno WSMAN/kuro-win01.$D and host/kuro-win01.$D succeed (pypsrp's SPNs)" 0 "host/kuro-win01\.$D@$R: kvno = " -- \
    "$T/kvno" "WSMAN/kuro-win01.$D" "host/kuro-win01.$D"
expect "kvno WSMAN/kuro-win17.$D: WinRM never registered it" fail 'not found in Kerberos database' -- \
    "$T/kvno" "WSMAN/kuro-win17.$D"
expect "keytab holds the HTTP/ SPNs" 0 "HTTP/kuro-win06\.$D@$R" -- "$T/klist" -k "$KRBPROBE_LAB_KEYTAB"
expect "kinit awx with a wrong password" fail 'Password incorrect' -- kinit_pw /etc/krb5.conf awx wrong-password
expect "kinit locked (-allow_tix: disabled account)" fail "credentials have been revoked" -- kinit_pw /etc/krb5.conf locked
expect "kinit expired (password expired)" fail 'Password expired' -- kinit_pw /etc/krb5.conf expired
expect "kinit of an unknown user" fail "not found in Kerberos database" -- kinit_pw /etc/krb5.conf nosuchuser

echo "# KDC variants"
expect "kuro-ad01 clock is in sync" 0 'skew=[+-]?[0-9]\.' -- "$PY" -m krblab.kdc_time "$(ip_of kuro-ad01)"
expect "kuro-ad02 clock is ahead (KRB-ERROR stime)" 0 'skew=\+(5[4-9][0-9]|6[0-5][0-9])\.' -- "$PY" -m krblab.kdc_time "$(ip_of kuro-ad02)"
expect "kinit via kuro-ad02, kdc_timesync = 0" fail 'Clock skew too great' -- \
    env KRB5CCNAME="FILE:$WORK/cc_ad02a" bash -c "printf '%s\n' '$PW' | KRB5_CONFIG=$C/ad02-notimesync.conf $T/kinit awx"
expect "kinit via kuro-ad02, default kdc_timesync (MIT compensates, succeeds)" 0 '' -- \
    env KRB5CCNAME="FILE:$WORK/cc_ad02b" bash -c "printf '%s\n' '$PW' | KRB5_CONFIG=$C/ad02.conf $T/kinit awx"
run env KRB5CCNAME="FILE:$WORK/cc_ad02b" "$T/klist"
start=$(grep -m1 "krbtgt/" <<<"$OUT" | awk '{print $1" "$2}')
OUT="$OUT
(ticket start $start vs now $(date '+%m/%d/%y %H:%M:%S'))"
result "  ... and the TGT from kuro-ad02 starts ~10 min in the future" \
    "$(python3 -c "
import datetime,sys
s=datetime.datetime.strptime('$start','%m/%d/%y %H:%M:%S'); d=(s-datetime.datetime.now()).total_seconds()
sys.exit(0 if 480<d<720 else 1)" 2>/dev/null; echo $?)" "start $start"
expect "kinit via kuro-ad03 (nothing listens)" fail "Cannot contact any KDC for realm '$R'" -- \
    kinit_pw "$C/ad03.conf" awx
OUT="took ${ELAPSED}ms"; result "  ... and it fails fast (ICMP/RST), < 3 s" "$([[ $ELAPSED -lt 3000 ]]; echo $?)" "${ELAPSED}ms"
expect "UDP AS-REQ to kuro-ad03: connection refused (ICMP)" fail 'error=network .*[Rr]efused' -- \
    "$PY" -m krblab.kdc_time --timeout 2 "$(ip_of kuro-ad03)"
expect "UDP AS-REQ to kuro-ad04: no answer (dropped)" fail 'error=network timeout' -- \
    "$PY" -m krblab.kdc_time --timeout 1 "$(ip_of kuro-ad04)"
expect "TCP connect to kuro-ad04:88: times out (dropped)" fail 'error=network timeout' -- \
    "$PY" -m krblab.kdc_time --tcp --timeout 1 "$(ip_of kuro-ad04)"
expect "UDP AS-REQ to kuro-ad05 (TCP only): refused" fail '[Rr]efused' -- "$PY" -m krblab.kdc_time --timeout 2 "$(ip_of kuro-ad05)"
expect "TCP AS-REQ to kuro-ad05: KRB-ERROR 25 (preauth required)" 0 'error=25 ' -- \
    "$PY" -m krblab.kdc_time --tcp "$(ip_of kuro-ad05)"
expect "kinit via kuro-ad05 (MIT falls back from UDP to TCP)" 0 '' -- \
    env KRB5CCNAME="FILE:$WORK/cc_ad05" bash -c "printf '%s\n' '$PW' | KRB5_CONFIG=$C/ad05.conf $T/kinit awx"
expect "kinit via kuro-ad05 with udp_preference_limit = 1" 0 '' -- \
    env KRB5CCNAME="FILE:$WORK/cc_ad05t" bash -c "printf '%s\n' '$PW' | KRB5_CONFIG=$C/ad05-tcp.conf $T/kinit awx"
expect "kinit with kdc = kuro-nokdc (no DNS record)" fail "Cannot contact any KDC for realm '$R'" -- \
    kinit_pw "$C/nokdc.conf" awx
expect "kinit with dns_lookup_kdc = true (SRV records)" 0 '' -- \
    env KRB5CCNAME="FILE:$WORK/cc_srv" bash -c "printf '%s\n' '$PW' | KRB5_CONFIG=$C/dns-srv.conf $T/kinit awx"

# ---------------------------------------------------------------- WinRM
echo "# WinRM stand-in"
HP=("$PY" -m krblab.http_probe --timeout 3)
NEG=$'Negotiate\nKerberos'
# Every listener of the plan (lab/scenarios.toml): what answers before authentication.
while IFS=$'\t' read -r h ip port scheme beh knobs state; do
    [[ $h == '#'* ]] && continue
    tls=()
    [[ $scheme == https ]] && tls=(--https --cafile "$KRBPROBE_LAB_CA_CERT" --sni "$h.$D")
    label=$h
    [[ $knobs == - ]] || label+=" (+$knobs)"
    # nowsman: the port serves HTTP, but /wsman is a 404 like any other path.
    [[ +$knobs+ == *+nowsman+* && $state == listen ]] && state=nowsman
    case "$state:$beh:$scheme" in
        nowsman:*)
            expect "$label POST /wsman -> 404 (no WinRM listener)" 0 "^status=404 " -- "${HP[@]}" "${tls[@]}" "$ip" "$port" /wsman ;;
        listen:negotiate:http)
            expect_lines "$h GET / -> 404 page from HTTP.sys" 0 "status=404 reason='Not Found'
header Server: Microsoft-HTTPAPI/2.0
header Content-Type: text/html; charset=us-ascii" -- "${HP[@]}" --method GET "$ip" "$port" /
            expect_lines "$label POST /wsman -> 401, WWW-Authenticate Negotiate + Kerberos, empty body" 0 "status=401 reason=''
header Server: Microsoft-HTTPAPI/2.0
header Content-Length: 0" "$NEG" -- "${HP[@]}" "$ip" "$port" /wsman ;;
        listen:negotiate:https)
            expect_lines "$h HTTPS $port: cert verifies for $h.$D, 401 Negotiate + Kerberos" 0 \
                "status=401 reason=''" "$NEG" -- "${HP[@]}" "${tls[@]}" "$ip" "$port" /wsman
            grep -Eq "tls-san=([^ ]*,)?DNS:$h\.$D(,| |$)" <<<"$OUT"
            result "  ... the certificate names $h.$D" $? "$(grep '^tls-' <<<"$OUT")"
            expect "$h HTTPS with the system CAs: the lab CA is not trusted" fail 'error=tls .*CERTIFICATE_VERIFY_FAILED' -- \
                "${HP[@]}" --https --sni "$h.$D" "$ip" "$port" /wsman ;;
        listen:basic:http)
            expect_lines "$h POST /wsman -> 401 with only Basic realm=\"WSMAN\"" 0 "status=401 reason=''
header Server: Microsoft-HTTPAPI/2.0" 'Basic realm="WSMAN"' -- "${HP[@]}" "$ip" "$port" /wsman
            expect "$h Basic awx:<lab password> -> 200 IdentifyResponse" 0 '^status=200 ' -- \
                "${HP[@]}" --header "Authorization: Basic $(printf 'awx:%s' "$PW" | base64 -w0)" "$ip" "$port" /wsman ;;
        closed:*)
            [[ $scheme == http ]] || tls=(--https --insecure)
            expect "$h $port: connection refused" fail '^error=refused' -- "${HP[@]}" "${tls[@]}" "$ip" "$port" ;;
        drop:*)
            expect "$h $port: timeout (dropped)" fail '^error=timeout' -- "$PY" -m krblab.http_probe --timeout 1 "$ip" "$port" ;;
        *) OUT="unknown listener state in listeners.tsv: $state:$beh:$scheme"; RC=1; result "$h $port" 1 ;;
    esac
done < "$KRBPROBE_LAB_PLAN/listeners.tsv"
expect "kuro-win01 GET /wsman -> 405" 0 '^status=405 ' -- "${HP[@]}" --method GET "$(ip_of kuro-win01)" 5985 /wsman

# ---------------------------------------------------------------- WinRM acceptor
# A python3-gssapi initiator (ticket from the kinit awx above) against the
# stand-in's real acceptor; lab/test_pywinrm.py does the same with pywinrm.
if "$PY" -c 'import gssapi' 2>/dev/null; then
    echo "# WinRM Kerberos acceptor (python3-gssapi initiator)"
    gss() { # SCHEME:MECH HOST IP [http_probe args]: an auth-only POST /wsman
        local g=$1 h=$2 ip=$3; shift 3
        "${HP[@]}" --gss "$g" --spn "HTTP@$h.$D" "$@" "$ip" "${PORT:-5985}" /wsman
    }
    expect_lines "kuro-win01 Negotiate + raw krb5 token -> 200, AP-REP verified (mutual auth)" 0 "status=200 reason=''
header Server: Microsoft-HTTPAPI/2.0
gss-result=complete" -- gss Negotiate:krb5 kuro-win01 "$(ip_of kuro-win01)"
    expect "  ... the AP-REP comes as 'WWW-Authenticate: Negotiate <token>'" 0 '^header WWW-Authenticate: Negotiate [A-Za-z0-9+/]+=*$' -- \
        gss Negotiate:krb5 kuro-win01 "$(ip_of kuro-win01)"
    expect "kuro-win01 Kerberos scheme -> 200, 'WWW-Authenticate: Kerberos <AP-REP>'" 0 '^header WWW-Authenticate: Kerberos [A-Za-z0-9+/]+=*$' -- \
        gss Kerberos:krb5 kuro-win01 "$(ip_of kuro-win01)"
    expect "kuro-win01 Negotiate + SPNEGO token -> 200, mutual auth verified" 0 '^gss-result=complete$' -- \
        gss Negotiate:spnego kuro-win01 "$(ip_of kuro-win01)"
    PORT=5986 expect "kuro-win06 HTTPS Negotiate -> 200, mutual auth verified" 0 '^gss-result=complete$' -- \
        gss Negotiate:krb5 kuro-win06 "$(ip_of kuro-win06)" --https --cafile "$KRBPROBE_LAB_CA_CERT" --sni "kuro-win06.$D"
    expect_lines "kuro-win08 (reject): valid token -> 401 with the plain challenges" 0 "status=401 reason=''
gss-result=no-token" "$NEG" -- gss Negotiate:krb5 kuro-win08 "$(ip_of kuro-win08)"
    expect "kuro-win11 (wrongkey): 401 with KRB-ERROR 'Key version is not available'" 0 \
        '^gss-result=error .*Key version is not available' -- gss Negotiate:krb5 kuro-win11 "$(ip_of kuro-win11)"
    expect "kuro-win12 (skew): 401 with KRB-ERROR 'Clock skew too great'" 0 \
        '^gss-result=error .*Clock skew too great' -- gss Negotiate:krb5 kuro-win12 "$(ip_of kuro-win12)"
else
    echo "# (python3-gssapi not installed: WinRM acceptor checks skipped; run lab/install-tools.sh)"
fi

# ---------------------------------------------------------------- ad04 result
echo "# waiting for the kuro-ad04 kinit (dropped packets)"
wait "$AD04_PID"
OUT="$(cat "$AD04_OUT" "$AD04_OUT.log" 2>/dev/null)"
RC=0
ad04_ms=$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' "$AD04_OUT")
ELAPSED=${ad04_ms:-0}
ok=1
grep -q "Cannot contact any KDC for realm '$R'" <<<"$OUT" && [[ ${ad04_ms:-0} -ge 5000 ]] && ok=0
result "kinit via kuro-ad04 (port 88 dropped): gives up after ${ad04_ms:-?}ms" "$ok" \
    "$(grep -m1 '^kinit: ' <<<"$OUT")"

rm -rf "$WORK"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
