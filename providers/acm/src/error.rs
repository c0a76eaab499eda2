//! ACM SDK errors → [`ProviderError`], in one place.

use aws_sdk_acm::config::http::HttpResponse;
use aws_sdk_acm::error::{ProvideErrorMetadata, SdkError};
use sslprov_provider::ProviderError;

use crate::NAME;

/// Maps a failed ACM call by its error code and HTTP status. ACM's own codes need no special
/// case: `ResourceNotFoundException`, `ResourceInUseException`, `ThrottlingException` and the
/// `Invalid*` family already mean what [`ProviderError::from_aws`] says they mean.
pub(crate) fn from_sdk<E>(op: &'static str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    ProviderError::from_sdk(NAME, op, err)
}

#[cfg(test)]
mod tests {
    use aws_sdk_acm::error::ErrorMetadata;
    use aws_sdk_acm::operation::delete_certificate::DeleteCertificateError;
    use aws_sdk_acm::types::error::{ResourceInUseException, ResourceNotFoundException};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use sslprov_provider::ErrorKind;

    use super::*;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).expect("valid status"), SdkBody::empty())
    }

    fn meta(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    #[test]
    fn not_found_and_in_use_keep_code_status_and_message() {
        let gone = DeleteCertificateError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Certificate arn:x not found")
                .meta(meta("ResourceNotFoundException", "Certificate arn:x not found"))
                .build(),
        );
        let e = from_sdk("DeleteCertificate", SdkError::service_error(gone, response(400)));
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.code.as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(
            e.to_string(),
            "acm DeleteCertificate: not found (ResourceNotFoundException): Certificate arn:x not found"
        );

        let busy = DeleteCertificateError::ResourceInUseException(
            ResourceInUseException::builder().meta(meta("ResourceInUseException", "in use by a distribution")).build(),
        );
        let e = from_sdk("DeleteCertificate", SdkError::service_error(busy, response(400)));
        assert_eq!(e.kind, ErrorKind::Conflict);
    }

    #[test]
    fn unmodelled_throttling_and_server_errors() {
        let throttled = DeleteCertificateError::generic(meta("ThrottlingException", "Rate exceeded"));
        let e = from_sdk("DeleteCertificate", SdkError::service_error(throttled, response(400)));
        assert_eq!(e.kind, ErrorKind::RateLimited);

        let broken = DeleteCertificateError::generic(ErrorMetadata::builder().build());
        let e = from_sdk("DeleteCertificate", SdkError::service_error(broken, response(503)));
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert_eq!(e.code, None);
    }
}
