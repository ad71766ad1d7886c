//! Code generation for one instrumented function.
//!
//! The signature is never touched (generics, lifetimes, `async`, `unsafe`, receivers and
//! attributes stay exactly as written); only the body is wrapped. The wrapper calls
//! `::otel_core::__private`, where the logic lives, so what is generated here is mostly
//! glue: a `static` callsite, a closure that records the arguments, and the shape that
//! fits the function (sync, `async fn`, or a function returning a future).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{
    Block, Error, Expr, FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Signature, Stmt, Type,
    TypeParamBound,
};

use crate::attr::{Args, Errors, FieldValue, Kind, Mode};

/// Argument names never recorded by default: values that are likely secrets. An
/// explicit `fields(token = token)` still records them.
const SECRET_MARKERS: [&str; 10] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "credential",
    "authorization",
    "cookie",
    "private_key",
];

/// Names for the span and the metrics of one function.
pub(crate) struct Target {
    /// Span name (`name = ".."`, else `fn_name` or `Type::fn_name`).
    pub(crate) span_name: String,
    /// The function as written after the module path (`fn_name` or `Type::fn_name`).
    pub(crate) function: String,
}

/// A binding introduced by the function's arguments.
struct Param {
    ident: Ident,
    /// The argument's `#[cfg(..)]` attributes: recording must vanish with the argument.
    cfgs: Vec<syn::Attribute>,
}

/// Validates `args` against `sig` and generates the new body (a block), which runs the
/// instrumented code or, in builds with `--cfg otel_noop`, `block` as written.
pub(crate) fn expand_body(
    args: &Args,
    sig: &Signature,
    block: &Block,
    target: &Target,
    check_skips: bool,
) -> Result<TokenStream, Errors> {
    let mut errors = Errors::default();
    if let Some(constness) = &sig.constness {
        errors.push(Error::new_spanned(
            constness,
            "`#[instrumented]` cannot be used on a `const fn`: spans and metrics are recorded at run time",
        ));
    }
    if check_skips {
        if let Err(e) = validate_skips(args, sig) {
            errors.extend(e);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let params = collect_params(sig);

    let callsite = gen_callsite(args, target, &params);
    let record = gen_record(args, &params);
    let start = gen_start(args, &record);
    let shape = Shape::of(sig, block);
    let call = ident("__otel_call");
    let ret = ident("__otel_ret");
    let outcome = gen_outcome(args, sig, &shape);

    let body = match shape {
        Shape::Sync => {
            let fake = fake_return(&sig.output);
            let annotation = let_annotation(&sig.output);
            let entered = ident("__otel_entered");
            quote! {
                #callsite
                let mut #call = #start;
                let #ret #annotation = {
                    let #entered = #call.enter();
                    ::otel_core::__private::call_once(move || {
                        #fake
                        #block
                    })
                };
                #outcome
                #ret
            }
        }
        Shape::AsyncFn => {
            let fake = fake_return(&sig.output);
            quote! {
                #callsite
                let mut #call = #start;
                // Called by path: a method call would pick `tracing::Instrument::instrument`
                // (a by-value blanket method) wherever that trait is imported.
                let #ret = ::otel_core::__private::Call::instrument(&mut #call, async move {
                    #fake
                    #block
                }).await;
                #outcome
                #ret
            }
        }
        Shape::ReturnsFuture {
            prelude,
            future,
            boxed,
        } => {
            let entered = ident("__otel_entered");
            let fut = ident("__otel_fut");
            let future = match future_output(&sig.output) {
                Some(output) => quote! {
                    ::otel_core::__private::expect_future::<#output, _>(#future)
                },
                None => future.to_token_stream(),
            };
            let wrapper = quote! {
                async move {
                    let mut #call = #call;
                    let #ret = ::otel_core::__private::Call::instrument(&mut #call, #fut).await;
                    #outcome
                    #ret
                }
            };
            let wrapper = if boxed {
                quote! { ::std::boxed::Box::pin(#wrapper) }
            } else {
                wrapper
            };
            quote! {
                #callsite
                let mut #call = #start;
                let #entered = #call.enter();
                #(#prelude)*
                let #fut = #future;
                ::core::mem::drop(#entered);
                #wrapper
            }
        }
    };
    // `otel_core` keeps the body as written instead when the build sets `--cfg otel_noop`:
    // the cfg is read there, in a library compiled for the target, so it works when
    // cross-compiling and users need no `check-cfg` entry of their own.
    Ok(quote! {
        {
            ::otel_core::__instrumented_or_plain!({ #body } #block)
        }
    })
}

/// Every name in `skip(..)` must be an argument of the function.
pub(crate) fn validate_skips(args: &Args, sig: &Signature) -> Result<(), Errors> {
    let Some(skip) = &args.skip else {
        return Ok(());
    };
    let params = collect_params(sig);
    let has_self = sig.inputs.iter().any(|arg| matches!(arg, FnArg::Receiver(_)));
    let mut errors = Errors::default();
    for ident in &skip.value {
        let known = params.iter().any(|p| p.ident == *ident) || (ident == "self" && has_self);
        if !known {
            errors.push(Error::new_spanned(
                ident,
                format!("`skip({ident})`: `{}` has no argument named `{ident}`", sig.ident),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A local of the generated code, hygienic so it can neither shadow nor be shadowed by
/// the user's names.
fn ident(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

fn gen_callsite(args: &Args, target: &Target, params: &[Param]) -> TokenStream {
    let name = args
        .name
        .as_ref()
        .map(|n| n.value.value())
        .unwrap_or_else(|| target.span_name.clone());
    let function = &target.function;
    let (scope, version) = match &args.tracer {
        Some(tracer) => {
            let lit = &tracer.value;
            (quote!(#lit), quote!(::core::option::Option::None))
        }
        None => (
            quote!(::core::env!("CARGO_PKG_NAME")),
            quote!(::core::option::Option::Some(::core::env!("CARGO_PKG_VERSION"))),
        ),
    };
    let kind = format_ident!(
        "{}",
        args.kind.as_ref().map_or(Kind::Internal, |k| k.value).variant()
    );
    let metrics = args.metrics.as_ref().is_none_or(|m| m.value);
    let in_flight = metrics && args.in_flight.is_some();
    let capacity = recorded_params(args, params).count() + args.fields.as_ref().map_or(0, |f| f.value.len());
    quote! {
        static __OTEL_CALLSITE: ::otel_core::__private::Callsite =
            ::otel_core::__private::Callsite::new(::otel_core::__private::Meta {
                name: #name,
                function: ::core::concat!(::core::module_path!(), "::", #function),
                namespace: ::core::module_path!(),
                scope: #scope,
                scope_version: #version,
                kind: ::otel_core::__private::SpanKind::#kind,
                metrics: #metrics,
                in_flight: #in_flight,
                attr_capacity: #capacity,
            });
    }
}

/// The arguments recorded by default: not skipped, not `self`, not secret-looking, not
/// internal (`__`-prefixed, such as `async-trait`'s renamed patterns), and not shadowed
/// by a field of the same name.
fn recorded_params<'a>(args: &'a Args, params: &'a [Param]) -> impl Iterator<Item = &'a Param> {
    params.iter().filter(move |p| {
        let name = p.ident.unraw().to_string();
        let lower = name.to_ascii_lowercase();
        args.skip_all.is_none()
            && !args.skip.as_ref().is_some_and(|s| s.value.contains(&p.ident))
            && !name.starts_with("__")
            && !SECRET_MARKERS.iter().any(|m| lower.contains(m))
            && !args
                .fields
                .as_ref()
                .is_some_and(|f| f.value.iter().any(|e| e.key == name))
    })
}

fn gen_record(args: &Args, params: &[Param]) -> TokenStream {
    let attrs = ident("__otel_attrs");
    let v = ident("__otel_v");
    let mut pushes = Vec::new();
    for param in recorded_params(args, params) {
        let p = &param.ident;
        let cfgs = &param.cfgs;
        let key = p.unraw().to_string();
        pushes.push(quote! {
            #(#cfgs)*
            {
                if let ::core::option::Option::Some(#v) =
                    (&&&::otel_core::__private::Arg(&#p)).__otel_value()
                {
                    #attrs.push(::otel_core::__private::KeyValue::new(#key, #v));
                }
            }
        });
    }
    for field in args.fields.iter().flat_map(|f| &f.value) {
        let key = &field.key;
        pushes.push(match &field.value {
            FieldValue::Auto(expr) => quote_spanned! {expr.span()=>
                if let ::core::option::Option::Some(#v) =
                    (&&::otel_core::__private::Field(&(#expr))).__otel_field()
                {
                    #attrs.push(::otel_core::__private::KeyValue::new(#key, #v));
                }
            },
            FieldValue::Display(expr) => quote_spanned! {expr.span()=>
                #attrs.push(::otel_core::__private::KeyValue::new(
                    #key,
                    ::otel_core::__private::display_value(&(#expr)),
                ));
            },
            FieldValue::Debug(expr) => quote_spanned! {expr.span()=>
                #attrs.push(::otel_core::__private::KeyValue::new(
                    #key,
                    ::otel_core::__private::debug_value(&(#expr)),
                ));
            },
        });
    }
    if pushes.is_empty() {
        return quote! { |_: &mut ::std::vec::Vec<::otel_core::__private::KeyValue>| {} };
    }
    quote! {
        |#attrs: &mut ::std::vec::Vec<::otel_core::__private::KeyValue>| {
            #[allow(unused_imports)]
            use ::otel_core::__private::{
                ArgDebug as _, ArgNone as _, ArgTyped as _, FieldDebug as _, FieldTyped as _,
            };
            #(#pushes)*
        }
    }
}

fn gen_start(args: &Args, record: &TokenStream) -> TokenStream {
    let mut options = Vec::new();
    if let Some(parent) = &args.parent {
        let expr = &parent.value;
        options.push(if is_none_literal(expr) {
            quote!(.root())
        } else {
            quote_spanned!(expr.span()=> .parent(#expr))
        });
    }
    if args.new_root.is_some() {
        options.push(quote!(.new_root()));
    }
    for links in [&args.follows_from, &args.links].into_iter().flatten() {
        let expr = &links.value;
        options.push(quote_spanned!(expr.span()=> .links(#expr)));
    }
    if options.is_empty() {
        quote! {
            ::otel_core::__private::Call::start(&__OTEL_CALLSITE, #record)
        }
    } else {
        quote! {
            ::otel_core::__private::Call::start_with(
                &__OTEL_CALLSITE,
                || ::otel_core::__private::StartOptions::new() #(#options)*,
                #record,
            )
        }
    }
}

fn is_none_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("None"))
}

/// Records `ret`, classifies the outcome and ends the call.
fn gen_outcome(args: &Args, sig: &Signature, shape: &Shape) -> TokenStream {
    let call = ident("__otel_call");
    let ret = ident("__otel_ret");
    let returns_unit = match &sig.output {
        ReturnType::Default => true,
        ReturnType::Type(_, ty) => matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()),
    };
    let record_ret = args.ret.as_ref().map(|r| {
        let value = match r.value {
            Mode::Auto => quote! {
                #[allow(unused_imports)]
                use ::otel_core::__private::{
                    RetAny as _, RetDebug as _, RetOkAny as _, RetOkDebug as _, RetOkTyped as _,
                    RetTyped as _,
                };
                (&&&&&&::otel_core::__private::Ret(&#ret)).__otel_ret_value()
            },
            Mode::Debug => quote_spanned! {r.span=>
                #[allow(unused_imports)]
                use ::otel_core::__private::{RetWithDebug as _, RetWithDebugOk as _};
                (&&::otel_core::__private::Ret(&#ret)).__otel_ret_debug()
            },
            Mode::Display => quote_spanned! {r.span=>
                #[allow(unused_imports)]
                use ::otel_core::__private::{RetWithDisplay as _, RetWithDisplayOk as _};
                (&&::otel_core::__private::Ret(&#ret)).__otel_ret_display()
            },
        };
        quote! {
            if #call.is_recording() {
                #call.record_return({ #value });
            }
        }
    });
    let prefer_debug = args.err.as_ref().is_some_and(|e| e.value == Mode::Debug);
    let finish = if returns_unit && !matches!(shape, Shape::ReturnsFuture { .. }) {
        quote! { #call.finish_ok(); }
    } else {
        quote! {
            {
                #[allow(unused_imports)]
                use ::otel_core::__private::{
                    RetFailAny as _, RetFailDebug as _, RetFailDisplay as _, RetFailError as _,
                    RetFailNone as _,
                };
                #call.finish(
                    (&&&&&::otel_core::__private::Ret(&#ret)).__otel_failure(),
                    #prefer_debug,
                );
            }
        }
    };
    quote! {
        #record_ret
        #finish
    }
}

/// How the function produces its result.
enum Shape<'a> {
    /// A plain function: the span covers the call.
    Sync,
    /// `async fn`: the span starts at the first poll and covers every poll.
    AsyncFn,
    /// A function that builds and returns a future (`-> impl Future`, or a body ending in
    /// `Box::pin(async ..)` as `#[async_trait]` generates): the span starts when the
    /// function is called and ends when the future completes or is dropped.
    ReturnsFuture {
        prelude: &'a [Stmt],
        future: &'a Expr,
        boxed: bool,
    },
}

impl<'a> Shape<'a> {
    fn of(sig: &Signature, block: &'a Block) -> Shape<'a> {
        if sig.asyncness.is_some() {
            return Shape::AsyncFn;
        }
        let Some((Stmt::Expr(tail, None), prelude)) = block.stmts.split_last() else {
            return Shape::Sync;
        };
        if let Some(inner) = box_pin_argument(tail) {
            return Shape::ReturnsFuture {
                prelude,
                future: inner,
                boxed: true,
            };
        }
        if returns_impl_future(&sig.output) {
            return Shape::ReturnsFuture {
                prelude,
                future: tail,
                boxed: false,
            };
        }
        if returns_boxed_dyn_future(&sig.output) {
            return Shape::ReturnsFuture {
                prelude,
                future: tail,
                boxed: true,
            };
        }
        Shape::Sync
    }
}

/// `Box::pin(async ..)` → the async block.
fn box_pin_argument(expr: &Expr) -> Option<&Expr> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = func.path.segments.iter().map(|s| s.ident.to_string()).collect();
    let is_box_pin = segments.len() >= 2 && segments[segments.len() - 2..] == ["Box", "pin"];
    match (is_box_pin, call.args.len(), call.args.first()) {
        (true, 1, Some(arg @ Expr::Async(_))) => Some(arg),
        _ => None,
    }
}

fn future_bound(
    bounds: &syn::punctuated::Punctuated<TypeParamBound, syn::token::Plus>,
) -> Option<&syn::PathSegment> {
    bounds.iter().find_map(|b| match b {
        TypeParamBound::Trait(t) => t.path.segments.last().filter(|s| s.ident == "Future"),
        _ => None,
    })
}

fn returns_impl_future(output: &ReturnType) -> bool {
    matches!(output, ReturnType::Type(_, ty)
        if matches!(&**ty, Type::ImplTrait(t) if future_bound(&t.bounds).is_some()))
}

/// `Pin<Box<dyn Future<..> + ..>>`.
fn boxed_dyn_future(ty: &Type) -> Option<&syn::PathSegment> {
    let inner = single_generic(ty, "Pin")?;
    let inner = single_generic(inner, "Box")?;
    match inner {
        Type::TraitObject(t) => future_bound(&t.bounds),
        _ => None,
    }
}

fn returns_boxed_dyn_future(output: &ReturnType) -> bool {
    matches!(output, ReturnType::Type(_, ty) if boxed_dyn_future(ty).is_some())
}

/// `Name<T>` → `T`.
fn single_generic<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// The `Output = R` of a future-returning signature, when it can be named.
fn future_output(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let segment = match &**ty {
        Type::ImplTrait(t) => future_bound(&t.bounds)?,
        other => boxed_dyn_future(other)?,
    };
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    let output = args.args.iter().find_map(|a| match a {
        GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
        _ => None,
    })?;
    (!contains_impl_or_infer(output)).then_some(output)
}

/// `impl Trait`, `_` and `!` cannot be written in a `let` type.
fn contains_impl_or_infer(ty: &Type) -> bool {
    if matches!(ty, Type::Never(_)) {
        return true;
    }
    let text = ty.to_token_stream().to_string();
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == "impl" || word == "_")
}

/// `: R` for the result of a sync body, so that `?` and `return` coerce as in the
/// original function (omitted where `R` cannot be written in a `let`).
fn let_annotation(output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Type(_, ty) if !contains_impl_or_infer(ty) => quote!(: #ty),
        _ => TokenStream::new(),
    }
}

/// An unreachable `return` of the declared type at the top of the moved body: it fixes
/// the closure's (or async block's) return type before the body is checked, so `?`,
/// `.into()` and coercions in `return` resolve exactly as in the original function.
fn fake_return(output: &ReturnType) -> TokenStream {
    let ReturnType::Type(_, ty) = output else {
        return TokenStream::new();
    };
    if contains_impl_or_infer(ty) {
        return TokenStream::new();
    }
    let fake = ident("__otel_fake_return");
    quote_spanned! {ty.span()=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #fake: #ty = loop {};
            return #fake;
        }
    }
}

fn collect_params(sig: &Signature) -> Vec<Param> {
    let mut params = Vec::new();
    for arg in &sig.inputs {
        if let FnArg::Typed(pat_type) = arg {
            let cfgs: Vec<syn::Attribute> = pat_type
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("cfg"))
                .cloned()
                .collect();
            collect_pat(&pat_type.pat, &cfgs, &mut params);
        }
    }
    params
}

fn collect_pat(pat: &Pat, cfgs: &[syn::Attribute], out: &mut Vec<Param>) {
    match pat {
        Pat::Ident(p) => {
            out.push(Param {
                ident: p.ident.clone(),
                cfgs: cfgs.to_vec(),
            });
            if let Some((_, sub)) = &p.subpat {
                collect_pat(sub, cfgs, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| collect_pat(p, cfgs, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| collect_pat(p, cfgs, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| collect_pat(&f.pat, cfgs, out)),
        Pat::Reference(r) => collect_pat(&r.pat, cfgs, out),
        Pat::Slice(s) => s.elems.iter().for_each(|p| collect_pat(p, cfgs, out)),
        Pat::Type(t) => collect_pat(&t.pat, cfgs, out),
        Pat::Paren(p) => collect_pat(&p.pat, cfgs, out),
        _ => {}
    }
}
