//! The email queue on Amazon SQS: render-visa enqueues an issued visa's
//! application id, register a password reset request, and the queue's
//! event source mapping hands each to render-visa to email, retried by SQS
//! and dead-lettered after its redrive policy's receive count.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use visa_core::notify::{EmailQueue, EmailRequest, NotifyError};

pub struct SqsEmailQueue {
    client: Client,
    queue_url: String,
}

impl SqsEmailQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsEmailQueue {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl EmailQueue for SqsEmailQueue {
    async fn enqueue(&self, request: &EmailRequest) -> Result<(), NotifyError> {
        let body =
            serde_json::to_string(request).map_err(|e| NotifyError::Unavailable(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| NotifyError::Unavailable(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
