# Sourced by mesh.sh and gateway.sh: the tools they need, a work directory and
# the processes they start (both removed or stopped on exit), building the
# proxies, a mesh CA and its leaves, and reading a proxy's CPU and memory.

for tool in nghttpx haproxy h2load go openssl; do
    command -v $tool >/dev/null || { echo "$(basename "$0") needs $tool (apt-get install nghttp2-proxy haproxy nghttp2-client golang-go openssl)" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
bin=.build/release

# Builds a product as the image does (deploy/Dockerfile: the standard library
# static). Quiet unless the build fails: then its errors, and the script stops.
build() { local log; log=$(swift build -c release --static-swift-stdlib --product "$1" 2>&1) || { echo "$log" >&2; exit 1; }; }

# In the current directory: ca.pem and ca.key, a throwaway CA for two days.
mesh_ca() {
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -subj /CN=bench-ca -days 2 -out ca.pem \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# leaf NAME SAN: NAME.pem, NAME.key (PKCS#8) and NAME.combined, signed by the
# CA, for server and client use (serverAuth+clientAuth).
leaf() {
    openssl ecparam -name prime256v1 -genkey -noout -out "$1.ec" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$1.ec" -out "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$2" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    cat "$1.pem" "$1.key" > "$1.combined"
}

# A proxy's process and its children (nghttpx serves from a forked worker).
family() { echo "$1" $(pgrep -P "$1" || true); }
# CPU clock ticks the family used so far.
cpu() { local t=0; for p in $(family "$1"); do t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat") )); done; echo $t; }
# Peak RSS in kB: the largest of the family.
hwm() { local m=0 v; for p in $(family "$1"); do v=$(awk '/VmHWM/ {print $2}' "/proc/$p/status"); [ "$v" -gt "$m" ] && m=$v; done; echo $m; }
ticks=$(getconf CLK_TCK)
