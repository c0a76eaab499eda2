//! Binary-level tests: the real `sslprov` binary against moto (through a per-test fault proxy
//! and AWS account), read back with the AWS SDK. They read like the README.

mod cloudflare;
mod engine;
mod examples;
mod fastly;
mod flags;
mod input;
mod lifecycle;
mod safety;
mod specs;
mod support;
mod terminal;
mod verify;
