//! Public methods that [`HttpServerLayer`](crate::HttpServerLayer) and
//! [`HttpClientLayer`](crate::HttpClientLayer) (and their services) share word for
//! word, written once. Each layer stays its own documented type; the logic behind the
//! setters is in [`SharedConfig`](crate::config::SharedConfig).

/// The plumbing of a layer's service, `$service<S> { inner: S, config: Arc<$config> }`:
/// `from_parts`, `new` (with a default `$layer`), `get_ref`, `get_mut`, `into_inner`
/// and `Debug`. `$make` is an expression that builds one, for the doc examples.
macro_rules! define_service_wrapper {
    ($service:ident, $layer:ident, $config:ty, $make:literal) => {
        impl<S> $service<S> {
            pub(crate) fn from_parts(inner: S, config: ::std::sync::Arc<$config>) -> Self {
                Self { inner, config }
            }

            #[doc = concat!("Wraps `inner` with a default [`", stringify!($layer), "`].")]
            ///
            /// ```
            #[doc = concat!("let svc = ", $make, ";")]
            /// # let _ = svc;
            /// ```
            pub fn new(inner: S) -> Self {
                ::tower::Layer::layer(&$layer::new(), inner)
            }

            /// The wrapped service.
            ///
            /// ```
            #[doc = concat!("# let svc = ", $make, ";")]
            /// let _inner = svc.get_ref();
            /// ```
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The wrapped service, mutably.
            ///
            /// ```
            #[doc = concat!("# let mut svc = ", $make, ";")]
            /// let _inner = svc.get_mut();
            /// ```
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// Unwraps the inner service.
            ///
            /// ```
            #[doc = concat!("# let svc = ", $make, ";")]
            /// let _inner = svc.into_inner();
            /// ```
            pub fn into_inner(self) -> S {
                self.inner
            }
        }

        impl<S: ::std::fmt::Debug> ::std::fmt::Debug for $service<S> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($service))
                    .field("inner", &self.inner)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// The builder methods both layers have, on `$layer`, which must have a private
/// `fn shared(&mut self) -> &mut SharedConfig<_>`.
macro_rules! shared_layer_options {
    ($layer:ident) => {
        impl $layer {
            /// Turns spans on (the default) or off for this layer.
            ///
            /// ```
            #[doc = concat!("let metrics_only = otel_tower::", stringify!($layer), "::new().traces(false);")]
            /// # let _ = metrics_only;
            /// ```
            #[must_use]
            pub fn traces(mut self, enabled: bool) -> Self {
                self.shared().set_traces(enabled);
                self
            }

            /// Turns metrics on (the default) or off for this layer.
            ///
            /// ```
            #[doc = concat!("let traces_only = otel_tower::", stringify!($layer), "::new().metrics(false);")]
            /// # let _ = traces_only;
            /// ```
            #[must_use]
            pub fn metrics(mut self, enabled: bool) -> Self {
                self.shared().set_metrics(enabled);
                self
            }

            /// Records the `http.{server,client}.request.body.size` and
            /// `http.{server,client}.response.body.size` histograms (bytes, same
            /// attributes as the duration). Off by default: the conventions mark them
            /// optional (status Development), and each is one more histogram update per
            /// request. Request sizes come from `Content-Length` (or, on the client, an
            /// exact body size hint); the server counts the response bytes as it sends
            /// them, the client takes `Content-Length` or an exact size hint.
            ///
            /// ```
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new().body_size_metrics(true);")]
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn body_size_metrics(mut self, enabled: bool) -> Self {
                self.shared().body_sizes = enabled;
                self
            }

            /// Records spans with this tracer provider instead of the global one.
            ///
            /// ```
            /// use otel_core::opentelemetry_sdk::trace::SdkTracerProvider;
            ///
            /// let provider = SdkTracerProvider::builder().build();
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new().tracer_provider(&provider);")]
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn tracer_provider<P>(mut self, provider: &P) -> Self
            where
                P: ::opentelemetry::trace::TracerProvider,
                P::Tracer: Send + Sync + 'static,
                <P::Tracer as ::opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
            {
                self.shared().set_tracer($crate::instruments::tracer_from(Some(provider)));
                self
            }

            /// Records metrics with this meter provider instead of the global one.
            ///
            /// ```
            /// use otel_core::opentelemetry_sdk::metrics::SdkMeterProvider;
            ///
            /// let provider = SdkMeterProvider::builder().build();
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new().meter_provider(&provider);")]
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn meter_provider<P: ::opentelemetry::metrics::MeterProvider>(mut self, provider: &P) -> Self {
                self.shared().set_meter(&$crate::instruments::meter_from(Some(provider)));
                self
            }

            /// Only requests for which `filter` returns `true` are recorded. The others
            /// pass through untouched: no span, no metrics, and no trace context read
            /// from or written into their headers.
            ///
            /// ```
            /// use otel_tower::grpc::is_grpc_health_check;
            ///
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new()")]
            ///     .filter(|req| req.uri.path() != "/health" && !is_grpc_health_check(req));
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn filter<F>(mut self, filter: F) -> Self
            where
                F: Fn(&::http::request::Parts) -> bool + Send + Sync + 'static,
            {
                self.shared().filter = Some(::std::sync::Arc::new(filter));
                self
            }

            /// Request headers recorded as `http.request.header.<name>` (string arrays;
            /// for gRPC `rpc.request.metadata.<name>`). The client reads them after it
            /// injected the trace context. `authorization`, `cookie`, `set-cookie` and
            /// `proxy-authorization` are never recorded, even when listed.
            ///
            /// ```
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new().request_headers([\"x-request-id\", \"accept\"]);")]
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn request_headers<I, S>(mut self, names: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                self.shared().request_headers =
                    $crate::headers::HeaderCapture::new($crate::headers::Direction::Request, names);
                self
            }

            /// Response headers recorded as `http.response.header.<name>`, with the same
            /// exclusions as [`request_headers`](Self::request_headers).
            ///
            /// ```
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new().response_headers([\"content-type\"]);")]
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn response_headers<I, S>(mut self, names: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                self.shared().response_headers =
                    $crate::headers::HeaderCapture::new($crate::headers::Direction::Response, names);
                self
            }

            /// Replaces the list of known HTTP methods (case-sensitive); others are
            /// recorded as `_OTHER`. The default is RFC 9110 + PATCH + QUERY, or the list
            /// in [`OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`](crate::method::KNOWN_METHODS_ENV).
            /// This list wins over the environment.
            ///
            /// ```
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new().known_methods([\"GET\", \"POST\", \"PURGE\"]);")]
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn known_methods<I, S>(mut self, methods: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                let methods: Vec<S> = methods.into_iter().collect();
                self.shared().set_known_methods($crate::method::KnownMethods::from_list(
                    methods.iter().map(AsRef::as_ref),
                ));
                self
            }

            /// Reads the layer's environment variable,
            /// [`OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`](crate::method::KNOWN_METHODS_ENV),
            /// through `lookup` instead of the process environment (which
            /// [`new`](Self::new) reads): for tests, configuration files or secrets
            /// managers. A list given to [`known_methods`](Self::known_methods) still
            /// wins.
            ///
            /// ```
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new()")]
            ///     .env(|name| (name == "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS").then(|| "GET,PURGE".into()));
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn env<F>(mut self, lookup: F) -> Self
            where
                F: Fn(&str) -> Option<String>,
            {
                self.shared().read_env(&lookup);
                self
            }

            /// Replaces the query parameters whose values are recorded as `REDACTED` in
            /// `url.query` (server) and `url.full` (client). The default is
            /// [`DEFAULT_SENSITIVE_QUERY_PARAMETERS`](crate::url::DEFAULT_SENSITIVE_QUERY_PARAMETERS).
            ///
            /// ```
            #[doc = concat!("let layer = otel_tower::", stringify!($layer), "::new().sensitive_query_parameters([\"sig\", \"token\", \"otp\"]);")]
            /// # let _ = layer;
            /// ```
            #[must_use]
            pub fn sensitive_query_parameters<I, S>(mut self, names: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                self.shared().sensitive_query = $crate::url::SensitiveQuery::new(names);
                self
            }
        }
    };
}
