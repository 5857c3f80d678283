// Independent verifier for mistral-sov signed evidence (format 2), in JavaScript:
// rebuilds the signed bytes with the npm `canonicalize` package (RFC 8785) and checks the
// Ed25519 signature with Node's own crypto. Usage: node jcs_verify.cjs EVIDENCE.json KEY.pub
// Prints {"canonical": "<base64 of the canonical payload>", "valid": true|false}.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const canonicalize = require("canonicalize");

const envelope = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const key = crypto.createPublicKey(fs.readFileSync(process.argv[3], "utf8"));
const bytes = Buffer.from(canonicalize(envelope.payload), "utf8");
const valid = crypto.verify(null, bytes, key, Buffer.from(envelope.signature.value, "base64"));
process.stdout.write(JSON.stringify({ canonical: bytes.toString("base64"), valid }) + "\n");
