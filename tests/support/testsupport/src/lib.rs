//! Test support for sslprov: AWS emulated by moto on loopback, one fresh account per test, and a
//! fault-injecting proxy in front of it that also counts calls (ACM, CloudFront, Route 53, and S3
//! addressed path-style, for remote state).
//!
//! ```no_run
//! # async fn t() {
//! use sslprov_testsupport::{AwsEnv, Rule};
//! let env = AwsEnv::new().await;
//! env.proxy().add_rule(Rule::error("cloudfront", Some("UpdateDistribution"), 412, "PreconditionFailed").times(1));
//! let route53 = aws_sdk_route53::Client::new(&env.sdk_config());
//! # let _ = route53;
//! assert_eq!(env.proxy().count("cloudfront:UpdateDistribution"), 0);
//! # }
//! ```

mod classify;
mod control;
mod env;
mod moto;
mod proxy;
mod rule;

pub use classify::classify;
pub use env::AwsEnv;
pub use moto::{Moto, MotoOptions, MotoServer};
pub use proxy::{Exchange, FaultProxy};
pub use rule::Rule;
