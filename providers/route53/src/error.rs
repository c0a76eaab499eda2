//! Route 53 SDK errors → [`ProviderError`], in one place.

use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use sslprov_provider::{ErrorKind, ProviderError};

use crate::NAME;

/// Maps a failed Route 53 call by its error code and HTTP status (`NoSuchHostedZone`,
/// `PriorRequestNotComplete`, `InvalidInput`, … mean what [`ProviderError::from_aws`] says).
pub(crate) fn from_sdk<E>(op: &'static str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    ProviderError::from_sdk(NAME, op, err)
}

/// ChangeResourceRecordSets, whose one error code `InvalidChangeBatch` covers every rejected
/// change. A CREATE of a record that exists is told apart only by the message ("Tried to create
/// resource record set [...] but it already exists"): Route 53 has no code for it, so this is the
/// one place sslprov reads an AWS message.
pub(crate) fn from_change(err: SdkError<ChangeResourceRecordSetsError, HttpResponse>) -> ProviderError {
    let exists = match err.as_service_error() {
        Some(ChangeResourceRecordSetsError::InvalidChangeBatch(e)) => {
            e.message().into_iter().chain(e.messages().iter().map(String::as_str)).any(|m| m.contains("already exists"))
        }
        _ => false,
    };
    let mut e = from_sdk("ChangeResourceRecordSets", err);
    if exists {
        e.kind = ErrorKind::AlreadyExists;
    }
    e
}

#[cfg(test)]
mod tests {
    use aws_sdk_route53::error::ErrorMetadata;
    use aws_sdk_route53::types::error::{InvalidChangeBatch, NoSuchHostedZone};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).expect("valid status"), SdkBody::empty())
    }

    fn invalid_batch(message: &str, in_list: bool) -> SdkError<ChangeResourceRecordSetsError, HttpResponse> {
        let mut b = InvalidChangeBatch::builder()
            .meta(ErrorMetadata::builder().code("InvalidChangeBatch").message(message).build());
        b = if in_list { b.messages(message) } else { b.message(message) };
        SdkError::service_error(ChangeResourceRecordSetsError::InvalidChangeBatch(b.build()), response(400))
    }

    #[test]
    fn create_of_an_existing_record_is_already_exists_wherever_the_message_is() {
        let msg = "Tried to create resource record set [name='click.acme.com.', type='CNAME'] but it already exists";
        for in_list in [false, true] {
            let e = from_change(invalid_batch(msg, in_list));
            assert_eq!(e.kind, ErrorKind::AlreadyExists);
            assert_eq!(e.code.as_deref(), Some("InvalidChangeBatch"));
        }
    }

    #[test]
    fn other_rejected_batches_stay_invalid_requests() {
        let e =
            from_change(invalid_batch("RRSet with DNS name click.other.org is not permitted in zone acme.com.", false));
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert_eq!(
            e.to_string(),
            "route53 ChangeResourceRecordSets: invalid request (InvalidChangeBatch): \
             RRSet with DNS name click.other.org is not permitted in zone acme.com."
        );
    }

    #[test]
    fn modelled_and_unmodelled_codes() {
        let gone = ChangeResourceRecordSetsError::NoSuchHostedZone(
            NoSuchHostedZone::builder().meta(ErrorMetadata::builder().code("NoSuchHostedZone").build()).build(),
        );
        assert_eq!(from_change(SdkError::service_error(gone, response(404))).kind, ErrorKind::NotFound);
        let busy = ChangeResourceRecordSetsError::generic(ErrorMetadata::builder().code("Throttling").build());
        assert_eq!(from_change(SdkError::service_error(busy, response(400))).kind, ErrorKind::RateLimited);
        let prior =
            ChangeResourceRecordSetsError::generic(ErrorMetadata::builder().code("PriorRequestNotComplete").build());
        assert_eq!(from_change(SdkError::service_error(prior, response(400))).kind, ErrorKind::RateLimited);
    }
}
