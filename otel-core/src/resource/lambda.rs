//! The AWS Lambda execution environment as resource attributes.

use std::fmt;
use std::sync::Arc;

use opentelemetry::{KeyValue, StringValue, Value};
use opentelemetry_sdk::resource::ResourceDetector;
use opentelemetry_sdk::Resource;
use opentelemetry_semantic_conventions::attribute::{
    AWS_LOG_GROUP_NAMES, CLOUD_PLATFORM, CLOUD_PROVIDER, CLOUD_REGION, FAAS_INSTANCE, FAAS_MAX_MEMORY,
    FAAS_NAME, FAAS_VERSION,
};

/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` is in MiB; `faas.max_memory` is in bytes.
const BYTES_PER_MIB: i64 = 1024 * 1024;

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Describes an AWS Lambda function from the variables the Lambda runtime sets, following
/// the FaaS and cloud resource conventions. [`init`](crate::init) uses it, so a function
/// needs no setup for these; outside Lambda (`AWS_LAMBDA_FUNCTION_NAME` unset) it detects
/// nothing.
///
/// | attribute | from |
/// |---|---|
/// | `cloud.provider` = `aws`, `cloud.platform` = `aws_lambda` | (constant) |
/// | `cloud.region` | `AWS_REGION` |
/// | `faas.name` | `AWS_LAMBDA_FUNCTION_NAME` |
/// | `faas.version` | `AWS_LAMBDA_FUNCTION_VERSION` |
/// | `faas.instance` | `AWS_LAMBDA_LOG_STREAM_NAME` (the execution environment) |
/// | `faas.max_memory` | `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, converted from MiB to bytes |
/// | `aws.log.group.names` | `AWS_LAMBDA_LOG_GROUP_NAME` |
///
/// A variable that is missing, empty or (memory) not a number leaves its attribute out.
/// Per-invocation values (`faas.invocation_id`, `cloud.resource_id`, `faas.coldstart`)
/// are span attributes, set by otel-tower's Lambda layer.
///
/// ```
/// use otel_core::opentelemetry::Key;
/// use otel_core::opentelemetry_sdk::resource::ResourceDetector;
/// use otel_core::resource::LambdaResourceDetector;
///
/// let detector = LambdaResourceDetector::from_lookup(|name| match name {
///     "AWS_LAMBDA_FUNCTION_NAME" => Some("text-analysis".to_string()),
///     "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => Some("128".to_string()),
///     "AWS_REGION" => Some("eu-west-1".to_string()),
///     _ => None,
/// });
/// let resource = detector.detect();
/// assert_eq!(resource.get(&Key::new("faas.name")), Some("text-analysis".into()));
/// assert_eq!(resource.get(&Key::new("faas.max_memory")), Some(134_217_728_i64.into()));
/// assert_eq!(resource.get(&Key::new("cloud.region")), Some("eu-west-1".into()));
/// ```
#[derive(Clone)]
pub struct LambdaResourceDetector {
    lookup: Lookup,
}

impl LambdaResourceDetector {
    /// Reads the process environment, as the Lambda runtime sets it.
    ///
    /// ```
    /// let detector = otel_core::resource::LambdaResourceDetector::from_env();
    /// # let _ = detector;
    /// ```
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests, or a configuration of your own).
    ///
    /// ```
    /// use otel_core::opentelemetry_sdk::resource::ResourceDetector;
    ///
    /// let outside_lambda = otel_core::resource::LambdaResourceDetector::from_lookup(|_| None);
    /// assert!(outside_lambda.detect().is_empty());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Arc::new(lookup),
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }
}

impl fmt::Debug for LambdaResourceDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LambdaResourceDetector").finish_non_exhaustive()
    }
}

impl ResourceDetector for LambdaResourceDetector {
    fn detect(&self) -> Resource {
        let Some(name) = self.var("AWS_LAMBDA_FUNCTION_NAME") else {
            return Resource::builder_empty().build();
        };
        let mut attributes = vec![
            KeyValue::new(CLOUD_PROVIDER, "aws"),
            KeyValue::new(CLOUD_PLATFORM, "aws_lambda"),
            KeyValue::new(FAAS_NAME, name),
        ];
        let strings = [
            (CLOUD_REGION, "AWS_REGION"),
            (FAAS_VERSION, "AWS_LAMBDA_FUNCTION_VERSION"),
            (FAAS_INSTANCE, "AWS_LAMBDA_LOG_STREAM_NAME"),
        ];
        for (key, variable) in strings {
            if let Some(value) = self.var(variable) {
                attributes.push(KeyValue::new(key, value));
            }
        }
        let memory = self
            .var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .and_then(|mib| mib.trim().parse::<i64>().ok())
            .and_then(|mib| mib.checked_mul(BYTES_PER_MIB));
        if let Some(bytes) = memory {
            attributes.push(KeyValue::new(FAAS_MAX_MEMORY, bytes));
        }
        if let Some(group) = self.var("AWS_LAMBDA_LOG_GROUP_NAME") {
            let names = Value::Array(vec![StringValue::from(group)].into());
            attributes.push(KeyValue::new(AWS_LOG_GROUP_NAMES, names));
        }
        Resource::builder_empty().with_attributes(attributes).build()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::{Array, Key, Value};
    use opentelemetry_sdk::resource::ResourceDetector;

    use super::LambdaResourceDetector;

    fn detect(vars: &'static [(&'static str, &'static str)]) -> opentelemetry_sdk::Resource {
        LambdaResourceDetector::from_lookup(move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        })
        .detect()
    }

    #[test]
    fn a_lambda_environment_becomes_the_faas_and_cloud_attributes() {
        let resource = detect(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "text-analysis"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/02/[$LATEST]abc"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/text-analysis"),
            ("AWS_REGION", "us-east-1"),
        ]);
        let get = |key: &'static str| resource.get(&Key::from_static_str(key));
        assert_eq!(get("cloud.provider"), Some("aws".into()));
        assert_eq!(get("cloud.platform"), Some("aws_lambda".into()));
        assert_eq!(get("cloud.region"), Some("us-east-1".into()));
        assert_eq!(get("faas.name"), Some("text-analysis".into()));
        assert_eq!(get("faas.version"), Some("$LATEST".into()));
        assert_eq!(get("faas.instance"), Some("2026/01/02/[$LATEST]abc".into()));
        assert_eq!(get("faas.max_memory"), Some(Value::I64(1024 * 1024 * 1024)));
        assert_eq!(
            get("aws.log.group.names"),
            Some(Value::Array(Array::String(vec![
                "/aws/lambda/text-analysis".into()
            ])))
        );
    }

    #[test]
    fn outside_lambda_nothing_is_detected() {
        assert!(detect(&[("AWS_REGION", "us-east-1")]).is_empty());
        assert!(detect(&[("AWS_LAMBDA_FUNCTION_NAME", "")]).is_empty());
    }

    #[test]
    fn missing_or_invalid_values_are_left_out() {
        let resource = detect(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
        ]);
        assert_eq!(resource.get(&Key::from_static_str("faas.name")), Some("f".into()));
        assert_eq!(resource.get(&Key::from_static_str("faas.max_memory")), None);
        assert_eq!(resource.get(&Key::from_static_str("cloud.region")), None);
    }
}
