#!/bin/sh
# Make a TEST certification authority and a document-signing certificate it issued, into a folder.
#
#   certs/make-test-ca.sh OUT_DIR [--ec] [--days N] [--name "Seller SAS"] [--password-env VAR]
#
# Writes, in OUT_DIR (created; existing files are replaced):
#   ca.key ca.pem            the test root CA (trust it with [signing] trust_roots = ["OUT_DIR/ca.pem"])
#   signing.key signing.pem  the signing key (PKCS#8 PEM, unencrypted) and its certificate
#   chain.pem                signing certificate then CA certificate
#   signing.p12              the key, certificate and CA in PKCS#12, protected by the password in $VAR
#                            (default variable GATEWAY_SIGNING_SECRET, the one [signing] secret_env names by
#                            default; default password "test")
# RSA 2048 by default, EC P-256 with --ec.  Nothing here is qualified: use it for tests and demos only.
# The keys are secrets: never commit them (certs/.gitignore keeps them out).
set -eu

usage() { echo "usage: $0 OUT_DIR [--ec] [--days N] [--name NAME] [--password-env VAR]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
algorithm="-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
days=825
name="Test Seller SAS"
password_env=GATEWAY_SIGNING_SECRET
while [ $# -gt 0 ]; do
    case $1 in
        --ec) algorithm="-algorithm EC -pkeyopt ec_paramgen_curve:P-256"; shift ;;
        --days) days=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        --password-env) password_env=$2; shift 2 ;;
        *) usage ;;
    esac
done
eval "password=\${$password_env:-test}"
export MAKE_TEST_CA_PASSWORD="$password"

mkdir -p "$out"
umask 077
cd "$out"
# shellcheck disable=SC2086  # $algorithm holds several options on purpose
openssl genpkey $algorithm -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days $((days + 365)) -out ca.pem \
    -subj "/C=FR/O=PDP Gateway TEST/CN=PDP Gateway TEST Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
# shellcheck disable=SC2086
openssl genpkey $algorithm -out signing.key 2>/dev/null
openssl req -new -key signing.key -out signing.csr -subj "/C=FR/O=$name/CN=$name (TEST e-invoicing seal)"
cat > signing.ext <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection, 1.3.6.1.5.5.7.3.36
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
openssl x509 -req -in signing.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" -sha256 \
    -days "$days" -extfile signing.ext -out signing.pem 2>/dev/null
cat signing.pem ca.pem > chain.pem
openssl pkcs12 -export -inkey signing.key -in signing.pem -certfile ca.pem -name "PDP Gateway TEST signing" \
    -passout env:MAKE_TEST_CA_PASSWORD -out signing.p12
rm -f signing.csr signing.ext
chmod 644 ca.pem signing.pem chain.pem
echo "test CA and signing certificate written to $out (PKCS#12 password from \$$password_env, default \"test\")"
