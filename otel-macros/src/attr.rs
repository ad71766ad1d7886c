//! Parsing of the attribute options, with every error spanned at its token.
//!
//! Parsing never stops at the first mistake: an option that fails to parse is reported
//! and skipped up to the next top-level comma, so one compile run lists every problem.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned as _;
use syn::{Error, Expr, Ident, LitBool, LitStr, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(skip_all);
    syn::custom_keyword!(fields);
    syn::custom_keyword!(err);
    syn::custom_keyword!(ret);
    syn::custom_keyword!(parent);
    syn::custom_keyword!(follows_from);
    syn::custom_keyword!(links);
    syn::custom_keyword!(kind);
    syn::custom_keyword!(new_root);
    syn::custom_keyword!(tracer);
    syn::custom_keyword!(metrics);
    syn::custom_keyword!(in_flight);
    syn::custom_keyword!(level);
    syn::custom_keyword!(target);
    syn::custom_keyword!(Debug);
    syn::custom_keyword!(Display);
}

const OPTIONS: &str = "name, skip, skip_all, fields, err, ret, parent, follows_from, links, \
                       kind, new_root, tracer, metrics, in_flight, level, target";

/// How `err`/`ret` format values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `err` / `ret`: the best representation available.
    Auto,
    /// `err(Debug)` / `ret(Debug)`.
    Debug,
    /// `err(Display)` / `ret(Display)`.
    Display,
}

/// A `fields(..)` value.
#[derive(Clone)]
pub(crate) enum FieldValue {
    /// `key = expr`: typed when possible, else `Debug`.
    Auto(Expr),
    /// `key = %expr`.
    Display(Expr),
    /// `key = ?expr`.
    Debug(Expr),
}

/// One `fields(..)` entry.
#[derive(Clone)]
pub(crate) struct FieldEntry {
    pub(crate) key: String,
    pub(crate) value: FieldValue,
}

/// The span kinds, as written in `kind = ..`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl Kind {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Kind::Internal => "Internal",
            Kind::Server => "Server",
            Kind::Client => "Client",
            Kind::Producer => "Producer",
            Kind::Consumer => "Consumer",
        }
    }
}

/// A value together with the keyword that introduced it (for "given twice" errors and
/// for conflicts between options).
#[derive(Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
    /// Position among the options, to blame the later of two conflicting ones.
    pub(crate) seq: usize,
}

/// Everything `#[instrumented(..)]` or `#[instrument_struct(..)]` was given.
#[derive(Default, Clone)]
pub(crate) struct Args {
    pub(crate) name: Option<Spanned<LitStr>>,
    pub(crate) skip: Option<Spanned<Vec<Ident>>>,
    pub(crate) skip_all: Option<Spanned<()>>,
    pub(crate) fields: Option<Spanned<Vec<FieldEntry>>>,
    pub(crate) err: Option<Spanned<Mode>>,
    pub(crate) ret: Option<Spanned<Mode>>,
    pub(crate) parent: Option<Spanned<Expr>>,
    pub(crate) follows_from: Option<Spanned<Expr>>,
    pub(crate) links: Option<Spanned<Expr>>,
    pub(crate) kind: Option<Spanned<Kind>>,
    pub(crate) new_root: Option<Spanned<()>>,
    pub(crate) tracer: Option<Spanned<LitStr>>,
    pub(crate) metrics: Option<Spanned<bool>>,
    pub(crate) in_flight: Option<Spanned<()>>,
    pub(crate) level: Option<Spanned<()>>,
    pub(crate) target: Option<Spanned<()>>,
    seq: usize,
}

/// Collects errors so that all of them are reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn extend(&mut self, other: Errors) {
        if let Some(e) = other.0 {
            self.push(e);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.0.map(|e| e.to_compile_error()).unwrap_or_default()
    }
}

impl Args {
    /// Parses the attribute's tokens; errors are returned next to whatever parsed well.
    pub(crate) fn parse(tokens: TokenStream) -> (Args, Errors) {
        let mut args = Args::default();
        let mut errors = Errors::default();
        let parser = |input: ParseStream<'_>| {
            while !input.is_empty() {
                if let Err(e) = parse_option(input, &mut args) {
                    errors.push(e);
                    skip_to_comma(input);
                }
                if input.is_empty() {
                    break;
                }
                if let Err(e) = input.parse::<Token![,]>() {
                    errors.push(e);
                    skip_to_comma(input);
                    let _ = input.parse::<Option<Token![,]>>();
                }
            }
            Ok(())
        };
        if let Err(e) = parser.parse2(tokens) {
            errors.push(e);
        }
        (args, errors)
    }

    /// A method's own options layered over its impl block's: each option set on the
    /// method wins, `fields` are merged (the method's value wins for a shared key), and
    /// `skip`/`skip_all` and `parent`/`new_root` are taken as pairs so the two levels
    /// cannot combine into a contradiction.
    pub(crate) fn over(mut self, block: &Args) -> Args {
        macro_rules! inherit {
            ($($field:ident),*) => {$(
                if self.$field.is_none() {
                    self.$field = block.$field.clone();
                }
            )*};
        }
        inherit!(
            err,
            ret,
            follows_from,
            links,
            kind,
            tracer,
            metrics,
            in_flight,
            level,
            target
        );
        if self.skip.is_none() && self.skip_all.is_none() {
            self.skip = block.skip.clone();
            self.skip_all = block.skip_all.clone();
        }
        if self.parent.is_none() && self.new_root.is_none() {
            self.parent = block.parent.clone();
            self.new_root = block.new_root.clone();
        }
        if let Some(block_fields) = &block.fields {
            let own = self.fields.take();
            let mut merged: Vec<FieldEntry> = block_fields
                .value
                .iter()
                .filter(|b| {
                    !own.as_ref()
                        .is_some_and(|o| o.value.iter().any(|e| e.key == b.key))
                })
                .cloned()
                .collect();
            let span = own.as_ref().map_or(block_fields.span, |o| o.span);
            let seq = own.as_ref().map_or(block_fields.seq, |o| o.seq);
            merged.extend(own.into_iter().flat_map(|o| o.value));
            self.fields = Some(Spanned {
                value: merged,
                span,
                seq,
            });
        }
        self
    }

    /// Checks options that contradict each other.
    pub(crate) fn check_conflicts(&self, errors: &mut Errors) {
        if let (Some(skip), Some(all)) = (&self.skip, &self.skip_all) {
            let later = if skip.seq > all.seq { skip.span } else { all.span };
            errors.push(Error::new(
                later,
                "`skip` and `skip_all` cannot be combined: `skip_all` already skips every argument",
            ));
        }
        if let (Some(parent), Some(root)) = (&self.parent, &self.new_root) {
            let later = if parent.seq > root.seq {
                parent.span
            } else {
                root.span
            };
            errors.push(Error::new(
                later,
                "`parent` and `new_root` cannot be combined: `new_root` starts a trace without a parent",
            ));
        }
        if let (Some(metrics), Some(in_flight)) = (&self.metrics, &self.in_flight) {
            if !metrics.value {
                errors.push(Error::new(
                    in_flight.span,
                    "`in_flight` records a metric, but `metrics = false` turns metrics off",
                ));
            }
        }
    }
}

fn set<T>(
    seq: &mut usize,
    slot: &mut Option<Spanned<T>>,
    value: T,
    span: Span,
    option: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(Error::new(span, format!("`{option}` is given more than once")));
    }
    *seq += 1;
    *slot = Some(Spanned {
        value,
        span,
        seq: *seq,
    });
    Ok(())
}

fn parse_option(input: ParseStream<'_>, args: &mut Args) -> syn::Result<()> {
    let lookahead = input.lookahead1();
    if lookahead.peek(kw::name) {
        let kw: kw::name = input.parse()?;
        input.parse::<Token![=]>()?;
        let lit: LitStr = input.parse()?;
        if lit.value().is_empty() {
            return Err(Error::new_spanned(&lit, "the span name must not be empty"));
        }
        set(&mut args.seq, &mut args.name, lit, kw.span, "name")
    } else if lookahead.peek(kw::skip_all) {
        let kw: kw::skip_all = input.parse()?;
        set(&mut args.seq, &mut args.skip_all, (), kw.span, "skip_all")
    } else if lookahead.peek(kw::skip) {
        let kw: kw::skip = input.parse()?;
        let content;
        syn::parenthesized!(content in input);
        let idents = content
            .parse_terminated(Ident::parse_any, Token![,])
            .inspect_err(|_| drain(&content))?;
        let mut seen: Vec<&Ident> = Vec::new();
        for ident in &idents {
            if seen.contains(&ident) {
                return Err(Error::new_spanned(
                    ident,
                    format!("`{ident}` is skipped more than once"),
                ));
            }
            seen.push(ident);
        }
        if idents.is_empty() {
            return Err(Error::new(
                kw.span,
                "`skip()` names no argument: list arguments, e.g. `skip(password)`, or use `skip_all`",
            ));
        }
        set(
            &mut args.seq,
            &mut args.skip,
            idents.into_iter().collect(),
            kw.span,
            "skip",
        )
    } else if lookahead.peek(kw::fields) {
        let kw: kw::fields = input.parse()?;
        let content;
        syn::parenthesized!(content in input);
        let entries = parse_fields(&content).inspect_err(|_| drain(&content))?;
        set(&mut args.seq, &mut args.fields, entries, kw.span, "fields")
    } else if lookahead.peek(kw::err) {
        let kw: kw::err = input.parse()?;
        let mode = parse_mode(input, "err")?;
        set(&mut args.seq, &mut args.err, mode, kw.span, "err")
    } else if lookahead.peek(kw::ret) {
        let kw: kw::ret = input.parse()?;
        let mode = parse_mode(input, "ret")?;
        set(&mut args.seq, &mut args.ret, mode, kw.span, "ret")
    } else if lookahead.peek(kw::parent) {
        let kw: kw::parent = input.parse()?;
        input.parse::<Token![=]>()?;
        let expr: Expr = input.parse()?;
        set(&mut args.seq, &mut args.parent, expr, kw.span, "parent")
    } else if lookahead.peek(kw::follows_from) {
        let kw: kw::follows_from = input.parse()?;
        input.parse::<Token![=]>()?;
        let expr: Expr = input.parse()?;
        set(
            &mut args.seq,
            &mut args.follows_from,
            expr,
            kw.span,
            "follows_from",
        )
    } else if lookahead.peek(kw::links) {
        let kw: kw::links = input.parse()?;
        input.parse::<Token![=]>()?;
        let expr: Expr = input.parse()?;
        set(&mut args.seq, &mut args.links, expr, kw.span, "links")
    } else if lookahead.peek(kw::kind) {
        let kw: kw::kind = input.parse()?;
        input.parse::<Token![=]>()?;
        let ident: Ident = input.parse()?;
        let kind = match ident.to_string().as_str() {
            "internal" | "Internal" => Kind::Internal,
            "server" | "Server" => Kind::Server,
            "client" | "Client" => Kind::Client,
            "producer" | "Producer" => Kind::Producer,
            "consumer" | "Consumer" => Kind::Consumer,
            other => {
                return Err(Error::new_spanned(
                    &ident,
                    format!(
                        "unknown span kind `{other}`; expected one of: server, client, producer, consumer, internal"
                    ),
                ))
            }
        };
        set(&mut args.seq, &mut args.kind, kind, kw.span, "kind")
    } else if lookahead.peek(kw::new_root) {
        let kw: kw::new_root = input.parse()?;
        set(&mut args.seq, &mut args.new_root, (), kw.span, "new_root")
    } else if lookahead.peek(kw::tracer) {
        let kw: kw::tracer = input.parse()?;
        input.parse::<Token![=]>()?;
        let lit: LitStr = input.parse()?;
        if lit.value().is_empty() {
            return Err(Error::new_spanned(
                &lit,
                "the instrumentation scope name must not be empty",
            ));
        }
        set(&mut args.seq, &mut args.tracer, lit, kw.span, "tracer")
    } else if lookahead.peek(kw::metrics) {
        let kw: kw::metrics = input.parse()?;
        input.parse::<Token![=]>()?;
        let lit: LitBool = input
            .parse()
            .map_err(|e| Error::new(e.span(), "expected `true` or `false`: `metrics = false`"))?;
        set(&mut args.seq, &mut args.metrics, lit.value, kw.span, "metrics")
    } else if lookahead.peek(kw::in_flight) {
        let kw: kw::in_flight = input.parse()?;
        set(&mut args.seq, &mut args.in_flight, (), kw.span, "in_flight")
    } else if lookahead.peek(kw::level) {
        // Accepted so that `tracing::instrument` attributes migrate by renaming;
        // OpenTelemetry spans have no level (sampling decides what is kept).
        let kw: kw::level = input.parse()?;
        input.parse::<Token![=]>()?;
        input.parse::<Expr>()?;
        set(&mut args.seq, &mut args.level, (), kw.span, "level")
    } else if lookahead.peek(kw::target) {
        // Accepted for migration; the instrumentation scope (`tracer`) plays its role.
        let kw: kw::target = input.parse()?;
        input.parse::<Token![=]>()?;
        input.parse::<LitStr>()?;
        set(&mut args.seq, &mut args.target, (), kw.span, "target")
    } else if input.peek(Ident::peek_any) {
        let ident = input.call(Ident::parse_any)?;
        Err(Error::new_spanned(
            &ident,
            format!("unknown option `{ident}`; expected one of: {OPTIONS}"),
        ))
    } else {
        Err(lookahead.error())
    }
}

fn parse_mode(input: ParseStream<'_>, option: &str) -> syn::Result<Mode> {
    if !input.peek(syn::token::Paren) {
        return Ok(Mode::Auto);
    }
    let content;
    syn::parenthesized!(content in input);
    parse_mode_inner(&content, option).inspect_err(|_| drain(&content))
}

fn parse_mode_inner(content: ParseStream<'_>, option: &str) -> syn::Result<Mode> {
    let lookahead = content.lookahead1();
    let mode = if lookahead.peek(kw::Debug) {
        content.parse::<kw::Debug>()?;
        Mode::Debug
    } else if lookahead.peek(kw::Display) {
        content.parse::<kw::Display>()?;
        Mode::Display
    } else {
        let message = format!("expected `Debug` or `Display`: `{option}(Debug)`");
        return Err(Error::new(content.span(), message));
    };
    if !content.is_empty() {
        return Err(content.error(format!("`{option}(..)` takes one of `Debug` or `Display`")));
    }
    Ok(mode)
}

fn parse_fields(input: ParseStream<'_>) -> syn::Result<Vec<FieldEntry>> {
    let mut entries: Vec<FieldEntry> = Vec::new();
    let mut keys: BTreeMap<String, Span> = BTreeMap::new();
    while !input.is_empty() {
        let (key, key_span) = parse_field_key(input)?;
        if !input.peek(Token![=]) {
            return Err(Error::new(
                key_span,
                format!(
                    "field `{key}` has no value: write `{key} = expr` (to set an attribute later, call `otel_core::set_attribute`)"
                ),
            ));
        }
        input.parse::<Token![=]>()?;
        let value = if input.peek(Token![%]) {
            input.parse::<Token![%]>()?;
            FieldValue::Display(input.parse()?)
        } else if input.peek(Token![?]) {
            input.parse::<Token![?]>()?;
            FieldValue::Debug(input.parse()?)
        } else {
            FieldValue::Auto(input.parse()?)
        };
        if keys.insert(key.clone(), key_span).is_some() {
            return Err(Error::new(
                key_span,
                format!("field `{key}` is given more than once"),
            ));
        }
        entries.push(FieldEntry { key, value });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(entries)
}

/// `a.b.c` (keywords allowed, as in `error.type`) or `"a.b.c"`.
fn parse_field_key(input: ParseStream<'_>) -> syn::Result<(String, Span)> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let key = lit.value();
        if key.is_empty() {
            return Err(Error::new_spanned(&lit, "a field name must not be empty"));
        }
        return Ok((key, lit.span()));
    }
    if !input.peek(Ident::peek_any) {
        return Err(input.error("expected a field name: `key = value`, `a.b = value` or `\"a.b\" = value`"));
    }
    let first = input.call(Ident::parse_any)?;
    let mut tokens = first.to_token_stream();
    let mut key = first.unraw().to_string();
    while input.peek(Token![.]) {
        let dot: Token![.] = input.parse()?;
        if !input.peek(Ident::peek_any) {
            return Err(Error::new_spanned(
                dot,
                "a dotted field name must continue with a name after `.`",
            ));
        }
        let part = input.call(Ident::parse_any)?;
        key.push('.');
        key.push_str(&part.unraw().to_string());
        dot.to_tokens(&mut tokens);
        part.to_tokens(&mut tokens);
    }
    Ok((key, tokens.span()))
}

/// Error recovery inside parentheses: drops what is left, so that syn does not add an
/// "unexpected token" error on top of the one already reported.
fn drain(content: ParseStream<'_>) {
    let _ = content.step(|cursor| {
        let mut rest = *cursor;
        while let Some((_, next)) = rest.token_tree() {
            rest = next;
        }
        Ok(((), rest))
    });
}

/// Error recovery: drops tokens up to (not including) the next top-level comma.
fn skip_to_comma(input: ParseStream<'_>) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if let TokenTree::Punct(p) = &tt {
                if p.as_char() == ',' {
                    break;
                }
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_every_option() {
        let (args, errors) = Args::parse(quote! {
            name = "n", skip(a, self), fields(db.system.name = "x", error.type = %e, "k" = ?v),
            err(Debug), ret, parent = None, follows_from = [a], links = vec![], kind = client,
            tracer = "t", metrics = true, in_flight, level = "debug", target = "x"
        });
        assert!(errors.is_empty());
        assert_eq!(args.name.map(|n| n.value.value()).as_deref(), Some("n"));
        assert_eq!(args.skip.map(|s| s.value.len()), Some(2));
        let keys: Vec<String> = args
            .fields
            .map(|f| f.value.into_iter().map(|e| e.key).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["db.system.name", "error.type", "k"]);
        assert_eq!(args.err.map(|e| e.value), Some(Mode::Debug));
        assert_eq!(args.ret.map(|e| e.value), Some(Mode::Auto));
        assert_eq!(args.kind.map(|k| k.value), Some(Kind::Client));
        assert_eq!(args.metrics.map(|m| m.value), Some(true));
    }

    #[test]
    fn reports_all_errors_at_once() {
        let (_, errors) = Args::parse(quote! { nme = "x", name = "a", name = "b", kind = sideways });
        let rendered = errors.into_compile_errors().to_string();
        assert!(rendered.contains("unknown option `nme`"), "{rendered}");
        assert!(rendered.contains("`name` is given more than once"), "{rendered}");
        assert!(rendered.contains("unknown span kind `sideways`"), "{rendered}");
    }
}
