use std::borrow::Cow;

/// A request extension naming the low-cardinality template of the URL being called
/// (`/users/{id}`): the client span is then named `{method} {template}` and gets
/// `url.template`, and the duration metric gets `url.template` too.
///
/// ```
/// use otel_tower::client::UrlTemplate;
///
/// let mut req = http::Request::get("http://api.local/users/42").body(()).unwrap();
/// req.extensions_mut().insert(UrlTemplate::new("/users/{id}"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(pub Cow<'static, str>);

impl UrlTemplate {
    /// A template; `&'static str` templates cost no allocation.
    ///
    /// ```
    /// let t = otel_tower::client::UrlTemplate::new("/users/{id}");
    /// assert_eq!(t.0, "/users/{id}");
    /// ```
    pub fn new(template: impl Into<Cow<'static, str>>) -> Self {
        Self(template.into())
    }
}
