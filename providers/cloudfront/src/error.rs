//! CloudFront SDK errors → `ProviderError`, in one place.

use aws_sdk_cloudfront::error::{BuildError, ProvideErrorMetadata, SdkError};
use sslprov_provider::{ErrorKind, ProviderError};

use crate::NAME;

/// Maps an SDK error of operation `op`; the vendor's code stays on the error for callers that
/// treat one code specially (`DistributionAlreadyExists`, `PreconditionFailed`).
pub(crate) fn from_sdk<E>(op: &'static str, err: SdkError<E>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    ProviderError::from_sdk(NAME, op, err)
}

/// A config sslprov could not build: a bug or a spec the SDK's builders reject.
pub(crate) fn from_build(op: &'static str, err: BuildError) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, err.to_string()).with_source(err)
}

pub(crate) fn has_code(err: &ProviderError, code: &str) -> bool {
    err.code.as_deref() == Some(code)
}
