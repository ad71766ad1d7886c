//! `#[instrument_struct]`: the options of one attribute applied to every method of an
//! `impl` block, with per-method overrides and opt-outs.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt as _;
use syn::{Attribute, Error, ImplItem, ItemImpl, Meta, Type};

use crate::attr::Args;
use crate::expand::{expand_body, validate_skips, Target};

/// Expands `#[instrument_struct(attr)] item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let (block_args, mut errors) = Args::parse(attr);
    block_args.check_conflicts(&mut errors);
    if let Some(name) = &block_args.name {
        errors.push(Error::new(
            name.span,
            "`name` cannot be set on an impl block: its methods are named `Type::method`; \
             rename one method with `#[instrumented(name = \"..\")]` on it",
        ));
    }
    let mut item: ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            errors.push(Error::new(
                Span::call_site(),
                "`#[instrument_struct]` applies to an `impl` block; \
                 for a single function use `#[instrumented]`",
            ));
            let errors = errors.into_compile_errors();
            return quote!(#errors #item);
        }
    };
    let type_name = type_name(&item.self_ty);
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            // Associated consts, types and macros are left as they are.
            continue;
        };
        let mut own: Option<Attribute> = None;
        let mut opt_out: Option<Attribute> = None;
        let mut duplicate: Option<Attribute> = None;
        method.attrs.retain(|a| {
            if is_named(a, "no_instrument") {
                opt_out = Some(a.clone());
                false
            } else if is_named(a, "instrumented") {
                if own.is_some() {
                    duplicate = Some(a.clone());
                }
                own = Some(a.clone());
                false
            } else {
                true
            }
        });
        if let Some(dup) = duplicate {
            errors.push(Error::new_spanned(
                dup,
                "`#[instrumented]` is given more than once on this method",
            ));
            continue;
        }
        if let (Some(opt_out), Some(_)) = (&opt_out, &own) {
            errors.push(Error::new_spanned(
                opt_out,
                "`#[no_instrument]` and `#[instrumented]` contradict each other on this method",
            ));
            continue;
        }
        if let Some(no) = &opt_out {
            if !matches!(no.meta, Meta::Path(_)) {
                errors.push(Error::new_spanned(no, "`#[no_instrument]` takes no arguments"));
            }
            continue;
        }
        if method.sig.constness.is_some() && own.is_none() {
            // A `const fn` cannot record at run time; instrumenting the rest of the block
            // is what the user asked for, so it is left alone rather than rejected.
            continue;
        }
        let method_args = match own.as_ref().map(attribute_args) {
            None => Args::default(),
            Some(Ok(tokens)) => {
                let (args, parse_errors) = Args::parse(tokens);
                errors.extend(parse_errors);
                args.check_conflicts(&mut errors);
                if let Err(e) = validate_skips(&args, &method.sig) {
                    errors.extend(e);
                }
                args
            }
            Some(Err(e)) => {
                errors.push(e);
                continue;
            }
        };
        let args = method_args.over(&block_args);
        let function = format!("{type_name}::{}", method.sig.ident.unraw());
        let target = Target {
            span_name: function.clone(),
            function,
        };
        match expand_body(&args, &method.sig, &method.block, &target, false) {
            Ok(body) => match syn::parse2(body) {
                Ok(block) => method.block = block,
                Err(e) => errors.push(e),
            },
            Err(e) => errors.extend(e),
        }
    }
    let errors = errors.into_compile_errors();
    quote!(#errors #item)
}

/// The tokens inside `#[instrumented(..)]` (empty for a bare `#[instrumented]`).
fn attribute_args(attr: &Attribute) -> syn::Result<TokenStream> {
    match &attr.meta {
        Meta::Path(_) => Ok(TokenStream::new()),
        Meta::List(list) => Ok(list.tokens.clone()),
        Meta::NameValue(nv) => Err(Error::new_spanned(
            nv,
            "expected `#[instrumented]` or `#[instrumented(options..)]`",
        )),
    }
}

/// `instrumented`, `otel_core::instrumented`, `otel_macros::instrumented`, ...
fn is_named(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

/// `UserRepo` for `UserRepo`, `db::UserRepo<T>`, `&UserRepo`.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.unraw().to_string())
            .unwrap_or_default(),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        other => other
            .to_token_stream()
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
    }
}
