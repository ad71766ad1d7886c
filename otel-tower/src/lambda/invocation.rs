//! One invocation's telemetry, from the event to the handler's result.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::Method;
use lambda_runtime::LambdaEvent;
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute::{
    AWS_LAMBDA_INVOKED_ARN, CLOUD_ACCOUNT_ID, CLOUD_RESOURCE_ID, ERROR_TYPE, FAAS_COLDSTART,
    FAAS_INVOCATION_ID, FAAS_TRIGGER, HTTP_REQUEST_METHOD, HTTP_REQUEST_METHOD_ORIGINAL, HTTP_ROUTE,
    URL_PATH, URL_SCHEME, USER_AGENT_ORIGINAL,
};

use super::event::{Describe, EventInfo, Trigger};
use super::flush;
use super::layer::LambdaConfig;
use crate::call::ERROR_TYPE_CANCELLED;
use crate::method::OTHER;

/// `error.type` of an invocation whose handler panicked.
///
/// ```
/// assert_eq!(otel_tower::lambda::ERROR_TYPE_PANIC, "panic");
/// ```
pub const ERROR_TYPE_PANIC: &str = "panic";

/// How an invocation ended.
pub(crate) enum Outcome {
    Ok,
    Error {
        error_type: &'static str,
        message: String,
    },
    Panic {
        message: String,
    },
    Cancelled,
}

/// The live telemetry of one invocation. Dropped before it finished (the runtime
/// dropped the handler's future), it records the invocation as cancelled.
pub(crate) struct Invocation {
    config: Arc<LambdaConfig>,
    cx: Option<Context>,
    trigger: Trigger,
    start: Instant,
    /// Milliseconds since the Unix epoch; 0 when the runtime did not say.
    deadline_ms: u64,
    finished: bool,
}

impl Invocation {
    pub(crate) fn start<T, D: Describe<T>>(
        config: Arc<LambdaConfig>,
        describe: &D,
        event: &LambdaEvent<T>,
        cold: bool,
    ) -> Self {
        let info = describe.describe(&event.payload);
        let trigger = info.trigger;
        if let (true, Some(instruments)) = (cold, config.instruments()) {
            instruments
                .coldstarts
                .add(1, &[KeyValue::new(FAAS_TRIGGER, trigger.as_str())]);
        }
        let cx = config
            .tracer()
            .map(|tracer| span(tracer, &config, info, event, cold));
        Self {
            config,
            cx,
            trigger,
            start: Instant::now(),
            deadline_ms: event.context.deadline,
            finished: false,
        }
    }

    /// The context holding the invocation's span, made current while the handler runs.
    pub(crate) fn context(&self) -> Option<&Context> {
        self.cx.as_ref()
    }

    pub(crate) fn config(&self) -> &Arc<LambdaConfig> {
        &self.config
    }

    /// Records the outcome and the metrics, and ends the span. Once.
    pub(crate) fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let error = match outcome {
            Outcome::Ok => None,
            Outcome::Error { error_type, message } => Some((Cow::Borrowed(error_type), message)),
            Outcome::Panic { message } => Some((Cow::Borrowed(ERROR_TYPE_PANIC), message)),
            Outcome::Cancelled => Some((
                Cow::Borrowed(ERROR_TYPE_CANCELLED),
                "the invocation was dropped before it finished".to_owned(),
            )),
        };
        if let Some(instruments) = self.config.instruments() {
            let attrs = [KeyValue::new(FAAS_TRIGGER, self.trigger.as_str())];
            instruments
                .duration
                .record(self.start.elapsed().as_secs_f64(), &attrs);
            if error.is_some() {
                instruments.errors.add(1, &attrs);
            }
        }
        if let Some(cx) = &self.cx {
            let span = cx.span();
            if let Some((error_type, message)) = error {
                if span.is_recording() {
                    span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
                    span.set_status(Status::error(message));
                }
            }
            span.end();
        }
    }

    /// How long a flush may take now: until the deadline less the reserve, at most the
    /// flush timeout. `None` when flushing is off or there is no time left for it.
    pub(crate) fn flush_budget(&self) -> Option<Duration> {
        let config = &self.config;
        if !config.flush {
            return None;
        }
        flush::budget(
            self.deadline_ms,
            SystemTime::now(),
            config.flush_reserve,
            config.flush_timeout,
        )
    }
}

impl Drop for Invocation {
    fn drop(&mut self) {
        self.finish(Outcome::Cancelled);
    }
}

/// Starts the invocation's SERVER span as a child of the event's remote context, or of
/// the current one.
fn span<T>(
    tracer: &opentelemetry::global::BoxedTracer,
    config: &LambdaConfig,
    info: EventInfo,
    event: &LambdaEvent<T>,
    cold: bool,
) -> Context {
    let lambda = &event.context;
    let parent = info.parent.unwrap_or_else(Context::current);
    let mut attributes = Vec::with_capacity(12);
    attributes.push(KeyValue::new(FAAS_TRIGGER, info.trigger.as_str()));
    attributes.push(KeyValue::new(FAAS_INVOCATION_ID, lambda.request_id.clone()));
    attributes.push(KeyValue::new(FAAS_COLDSTART, cold));
    if let Some(arn) = FunctionArn::parse(&lambda.invoked_function_arn) {
        attributes.push(KeyValue::new(
            CLOUD_RESOURCE_ID,
            arn.resource_id(&lambda.env_config.version),
        ));
        attributes.push(KeyValue::new(CLOUD_ACCOUNT_ID, arn.account.to_owned()));
        attributes.push(KeyValue::new(
            AWS_LAMBDA_INVOKED_ARN,
            lambda.invoked_function_arn.clone(),
        ));
    }
    let mut name = None;
    if info.trigger == Trigger::Http {
        let http = info.http;
        if let Some(method) = http.method {
            match Method::from_bytes(method.as_bytes()) {
                Ok(parsed) => {
                    let method_attrs = config.known_methods.classify(&parsed);
                    attributes.push(method_attrs.key_value());
                    attributes.extend(method_attrs.original_key_value());
                }
                // Not even a method token: unknown, like any method off the list.
                Err(_) => {
                    attributes.push(KeyValue::new(HTTP_REQUEST_METHOD, OTHER));
                    attributes.push(KeyValue::new(HTTP_REQUEST_METHOD_ORIGINAL, method));
                }
            }
        }
        if let Some(route) = http.route {
            // The AWS Lambda conventions name an API Gateway invocation after its route.
            name = Some(route.clone());
            attributes.push(KeyValue::new(HTTP_ROUTE, route));
        }
        attributes.extend(http.path.map(|p| KeyValue::new(URL_PATH, p)));
        attributes.extend(http.scheme.map(|s| KeyValue::new(URL_SCHEME, s)));
        attributes.extend(http.user_agent.map(|u| KeyValue::new(USER_AGENT_ORIGINAL, u)));
    }
    let name = name.unwrap_or_else(|| match lambda.env_config.function_name.as_str() {
        "" => "lambda".to_owned(),
        function => function.to_owned(),
    });
    let builder = SpanBuilder::from_name(name)
        .with_kind(SpanKind::Server)
        .with_attributes(attributes);
    let span = tracer.build_with_context(builder, &parent);
    parent.with_span(span)
}

/// `arn:aws:lambda:{region}:{account}:function:{name}[:{alias or version}]`.
struct FunctionArn<'a> {
    /// The unqualified function ARN.
    function: &'a str,
    account: &'a str,
    qualified: bool,
}

impl<'a> FunctionArn<'a> {
    /// `None` for anything that is not a Lambda function ARN (the runtime puts a
    /// placeholder sentence there when the header is missing).
    fn parse(arn: &'a str) -> Option<Self> {
        let parts: Vec<&str> = arn.splitn(8, ':').collect();
        match parts.as_slice() {
            ["arn", _, "lambda", _, account, "function", name, rest @ ..] if !name.is_empty() => {
                let qualified = !rest.is_empty();
                let function_len = arn.len() - rest.first().map_or(0, |q| q.len() + 1);
                Some(Self {
                    function: &arn[..function_len],
                    account,
                    qualified,
                })
            }
            _ => None,
        }
    }

    /// `cloud.resource_id`: the function ARN with an alias replaced by the version that
    /// runs, since one execution environment serves every alias of that version.
    fn resource_id(&self, version: &str) -> String {
        if self.qualified && !version.is_empty() {
            format!("{}:{version}", self.function)
        } else {
            self.function.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FunctionArn;

    #[test]
    fn aliases_become_the_running_version() {
        let arn =
            FunctionArn::parse("arn:aws:lambda:us-east-1:123456789012:function:checkout:live").expect("arn");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(
            arn.resource_id("7"),
            "arn:aws:lambda:us-east-1:123456789012:function:checkout:7"
        );
        let unqualified =
            FunctionArn::parse("arn:aws:lambda:us-east-1:123456789012:function:checkout").expect("arn");
        assert_eq!(
            unqualified.resource_id("7"),
            "arn:aws:lambda:us-east-1:123456789012:function:checkout"
        );
    }

    #[test]
    fn other_text_is_not_an_arn() {
        assert!(FunctionArn::parse("No header lambda-runtime-invoked-function-arn found.").is_none());
        assert!(FunctionArn::parse("arn:aws:s3:::bucket").is_none());
        assert!(FunctionArn::parse("arn:aws:lambda:us-east-1:1:function:").is_none());
    }
}
