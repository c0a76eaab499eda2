//! Binary-level tests: the real `sslprov` binary against moto (through a per-test fault proxy
//! and AWS account), read back with the AWS SDK. They read like the README.

mod ci_examples;
mod cloudflare;
mod engine;
mod examples;
mod failures;
mod fastly;
mod flags;
mod input;
mod journal;
mod keycdn;
mod lifecycle;
mod pipeline;
mod recovery;
mod remote_state;
mod safety;
mod specs;
mod support;
mod terminal;
mod verify;
