"""`gateway sign …`: verify a signed document, sign one.

`add_commands(subparsers)` adds the `sign` command to the gateway's parser.

    gateway sign verify FILE [--roots PEM]… [--json]
    gateway sign document FILE -o OUT [--key KEY.pem [--cert CHAIN.pem] | --pkcs12 FILE | --pkcs11-module SO --token LABEL --key-label LABEL]
                                      [--secret-env VAR] [--tsa URL]

Without a key option, `sign document` uses the [signing] configuration; `verify` trusts the
configured roots plus those given with --roots.  Secrets (key or PKCS#12 password, PIN) are read
from the environment variable --secret-env names (default GATEWAY_SIGNING_SECRET), never from the
command line.
Exit codes: 0 done (verify: signed and intact), 1 verify: unsigned or not intact, 2 unusable input or key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_NOT_INTACT, EXIT_UNUSABLE = 0, 1, 2


def _print_verification(verification) -> None:
    if not verification.signed:
        print(f"NOT SIGNED: the {verification.container.upper()} document carries no signature")
        return
    verdict = "INTACT" if verification.intact else "NOT INTACT"
    print(f"{verdict}: {len(verification.signatures)} signature(s) in the {verification.container.upper()} document")
    for info in verification.signatures:
        print(f"  {info.format.upper()} {'intact' if info.intact else 'NOT intact'}")
        print(f"    signer:       {info.signer or '-'}")
        print(f"    issuer:       {info.issuer or '-'} (serial {info.serial_number or '-'})")
        print(f"    signing time: {info.signing_time.isoformat() if info.signing_time else '-'} (claimed by the signer)")
        if info.timestamp:
            print(f"    time-stamp:   {info.timestamp.isoformat()}")
        print(f"    chain:        {info.chain}: {info.chain_message}")
        for problem in info.problems:
            print(f"    problem:      {problem}")


def _verify(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.signing.keys import read_certificates
    from gateway.signing.settings import signing_settings
    from gateway.signing.verify import verify_document

    roots = signing_settings(load_config()).roots() + [c for path in args.roots for c in read_certificates(path)]
    verification = verify_document(args.file.read_bytes(), roots)
    if args.json:
        print(json.dumps(verification.to_dict(), indent=1, ensure_ascii=False))
    else:
        _print_verification(verification)
    return EXIT_OK if verification.intact else EXIT_NOT_INTACT


def _key_settings(args: argparse.Namespace):
    """The key the options name, or None to use the configuration."""
    from gateway.signing.keys import KeySettings

    secret = os.environ.get(args.secret_env) or None
    if args.key:
        return KeySettings("pem", key_file=args.key, cert_file=args.cert, password=secret)
    if args.pkcs12:
        return KeySettings("pkcs12", pkcs12_file=args.pkcs12, password=secret)
    if args.pkcs11_module:
        return KeySettings(
            "pkcs11", module=args.pkcs11_module, token_label=args.token, key_label=args.key_label, cert_file=args.cert, password=secret
        )
    return None


def _sign(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.signing.expiry import check_key_expiry
    from gateway.signing.keys import KeyStoreError, load_key
    from gateway.signing.settings import signing_settings
    from gateway.signing.sign import sign_document

    configured = signing_settings(load_config())
    chosen = _key_settings(args) or configured.key
    if chosen is None:
        raise KeyStoreError("no key: give --key, --pkcs12 or --pkcs11-module, or configure [signing] store")
    key = load_key(chosen)
    try:
        check_key_expiry(key, configured.expiry_warning_days)
        signed = sign_document(args.file.read_bytes(), key, args.tsa or configured.tsa_url)
    finally:
        key.close()
    args.output.write_bytes(signed)
    print(f"signed by {key.certificate.subject.rfc4514_string()}: {args.output} ({len(signed)} bytes)", file=sys.stderr)
    return EXIT_OK


def _run(func):
    """Run a command; input, key-store, time-stamp and configuration errors are exit 2 with one line on stderr."""

    def run(args: argparse.Namespace) -> int:
        from gateway.config import ConfigError
        from gateway.errors import InputError
        from gateway.signing.keys import SigningError

        try:
            return func(args)
        except (InputError, SigningError, ConfigError, OSError) as exc:
            print(f"gateway sign: error: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE

    return run


def add_commands(subparsers) -> None:
    """Add `sign verify` and `sign document` to the gateway's sub-command parsers."""
    sign = subparsers.add_parser(
        "sign",
        help="sign documents, verify signed documents",
        description='Verify the signatures of a document, or sign one (XAdES for XML, PAdES for PDF).  Without a key option, "sign '
        'document" uses the [signing] configuration; "verify" trusts the configured roots and those given with --roots.  Passwords '
        "and PINs are read from the environment variable --secret-env names (default GATEWAY_SIGNING_SECRET), never from the command "
        "line.  Exit 0 done (verify: signed and intact), 1 verify: unsigned or not intact, 2 unusable input or key.",
    )
    commands = sign.add_subparsers(dest="sign_command", required=True, metavar="ACTION")

    verify = commands.add_parser(
        "verify",
        help="verify the signatures of a document",
        description="Verify the XAdES / XMLDSig signature of an XML document or the PAdES signatures of a PDF: signer, signing time, "
        "chain status, whether the content is intact.  Exit 0 signed and intact, 1 unsigned or not intact, 2 unusable input.",
    )
    verify.add_argument("file", type=Path, metavar="FILE", help="signed UBL / CII XML or PDF")
    verify.add_argument("--roots", type=Path, action="append", default=[], metavar="PEM", help="trust the CA certificates of this PEM file too")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(func=_run(_verify))

    document = commands.add_parser(
        "document",
        help="sign a document",
        description="Sign a UBL / CII invoice (XAdES B-B, enveloped) or a PDF (PAdES B-B, B-T with a TSA; incremental update).",
    )
    document.add_argument("file", type=Path, metavar="FILE", help="UBL or CII XML, or (Factur-X) PDF")
    document.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="file to write")
    document.add_argument("--key", type=Path, metavar="KEY.pem", help="PEM private key (it may also hold the certificate chain)")
    document.add_argument("--cert", type=Path, metavar="CHAIN.pem", help="PEM signing certificate and its chain (with --key or --pkcs11-module)")
    document.add_argument("--pkcs12", type=Path, metavar="FILE", help="PKCS#12 (.p12 / .pfx) file")
    document.add_argument("--pkcs11-module", metavar="SO", help="PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so")
    document.add_argument("--token", metavar="LABEL", help="PKCS#11 token label")
    document.add_argument("--key-label", metavar="LABEL", help="PKCS#11 label of the private key (and of its certificate)")
    document.add_argument("--secret-env", default="GATEWAY_SIGNING_SECRET", metavar="VAR", help="variable holding the password or PIN")
    document.add_argument("--tsa", metavar="URL", help="RFC 3161 time-stamp authority for PAdES B-T (default: [signing] tsa_url)")
    document.set_defaults(func=_run(_sign))
