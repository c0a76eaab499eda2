//! Binary-level tests: the real `sslprov` binary against moto (through a per-test fault proxy
//! and AWS account), read back with the AWS SDK. They read like the README.

mod cloudflare;
mod engine;
mod examples;
mod failures;
mod fastly;
mod input;
mod keycdn;
mod lifecycle;
mod pipeline;
mod recovery;
mod safety;
mod support;
mod verify;
