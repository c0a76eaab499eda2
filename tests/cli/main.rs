//! Binary-level tests: the real `sslprov` binary against moto (through a per-test fault proxy
//! and AWS account), read back with the AWS SDK. They read like the README.

mod azure_frontdoor;
mod ci_examples;
mod cloudflare;
mod editors;
mod engine;
mod examples;
mod failures;
mod fastly;
mod flags;
mod google_cloud;
mod init;
mod input;
mod journal;
mod keycdn;
mod lifecycle;
mod managed_https;
mod pipeline;
mod recovery;
mod remote_state;
mod safety;
mod specs;
mod support;
mod terminal;
mod verify;
