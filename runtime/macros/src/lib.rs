//! `#[goro::main]` and `#[goro::test]`: run an `async fn` on a goro runtime.
//!
//! This crate is re-exported by `goro` as `goro::main` and `goro::test`; depend on `goro`,
//! not on this crate.
//!
//! Both attributes turn an `async fn` into an ordinary fn that builds a runtime with
//! `goro::Runtime::builder()`, runs the body with `block_on`, and drops the runtime (which
//! shuts it down) when the body returns. If the runtime cannot be built (for example because
//! `GORO_PROCS` holds a bad value) the generated fn panics with the builder's error.
//!
//! ```no_run
//! #[goro::main]
//! async fn main() {
//!     let answer = goro::spawn(async { 6 * 7 }).await.unwrap();
//!     println!("{answer}");
//! }
//! ```
//!
//! The fn may return a value, for example a `Result` so that `?` works in the body:
//!
//! ```no_run
//! #[goro::main(processors = 2)]
//! async fn main() -> Result<(), std::num::ParseIntError> {
//!     let n: u32 = "42".parse()?;
//!     println!("{n}");
//!     Ok(())
//! }
//! ```
//!
//! Tests:
//!
//! ```no_run
//! #[goro::test]
//! async fn adds() {
//!     assert_eq!(goro::spawn(async { 1 + 1 }).await.unwrap(), 2);
//! }
//!
//! #[goro::test(processors = 1)]
//! async fn on_one_processor() {
//!     goro::task::yield_now().await;
//! }
//! ```
//!
//! # Arguments
//!
//! | argument | on | meaning |
//! |---|---|---|
//! | `processors = N` | `main`, `test` | `Builder::processors(N)`; `N` is an integer literal above 0. Without it the builder's default applies (`GORO_PROCS`, else the number of CPUs). |
//! | `flavor = "current_thread"` | `main`, `test` | tokio's name for one processor: `processors(1)`. |
//! | `flavor = "multi_thread"` | `main`, `test` | The default: `processors` or `worker_threads`, else the builder's default. |
//! | `worker_threads = N` | `main`, `test` | tokio's name for `processors = N` (needs the multi_thread flavor, if a flavor is given). |
//! | `tokio_compat` | `main`, `test` | `Builder::tokio_compat(true)`: tokio-bound crates (reqwest, `tokio::time`) work in the tasks; needs goro's `tokio-compat` feature (without it, a compile error says so). |
//! | `allow_orphans` | `test` | Turns the orphan check off for this test (see below). |
//!
//! The tokio arguments let `#[tokio::main(flavor = "multi_thread", worker_threads = 2)]`
//! become `#[goro::main(flavor = "multi_thread", worker_threads = 2)]` unchanged; arguments
//! that contradict each other are a compile error:
//!
//! ```compile_fail
//! #[goro::main(flavor = "current_thread", worker_threads = 2)] // error: needs multi_thread
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[goro::main(flavor = "work_stealing")] // error: unknown flavor
//! async fn main() {}
//! ```
//!
//! # Orphaned tasks fail a test
//!
//! After the body of a `#[goro::test]` returns, and before its runtime shuts down, the test
//! asks the runtime for its leak report. If any task was *orphaned* during the test (it
//! returned `Pending` while no waker for it was left anywhere, so nothing could ever wake
//! it again), the test panics with a message that names each orphan's spawn site and where
//! it was waiting:
//!
//! ```text
//! test left 1 orphaned task (idle with no waker left, so nothing can ever wake them):
//!     task #2 spawned at tests/conn.rs:12:5, not waiting on a goro future
//! ```
//!
//! `#[goro::test(allow_orphans)]` leaves the check out, for tests that orphan tasks on
//! purpose:
//!
//! ```no_run
//! #[goro::test(allow_orphans)]
//! async fn orphans_on_purpose() {
//!     goro::spawn(std::future::poll_fn(|_cx| std::task::Poll::<()>::Pending));
//!     goro::time::sleep(std::time::Duration::from_millis(10)).await;
//! }
//! ```
//!
//! A body that panics fails the test with its own panic; the check does not run.
//!
//! # Deadlocks fail a test
//!
//! Likewise, a test during which `goro::sync` found a deadlock (tasks in a lock cycle,
//! see `goro::sync`) panics after its body returns, with the deadlock's text: each task,
//! what it holds and where it acquired it, what it waits on and where, then each task with
//! its wait op, idle time and spawn site.
//!
//! Anything else is a compile error, as is applying either attribute to a fn that is not
//! `async`, that takes arguments, or that is generic:
//!
//! ```compile_fail
//! #[goro::test(processors = 0)] // error: `processors` must be at least 1
//! async fn zero() {}
//! ```
//!
//! ```compile_fail
//! #[goro::test(workers = 2)] // error: unknown argument `workers`
//! async fn unknown() {}
//! ```
//!
//! ```compile_fail
//! #[goro::main] // error: the `async` keyword is missing
//! fn main() {}
//! ```

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, ReturnType, Token};

/// Runs `async fn main` on a goro runtime.
///
/// `#[goro::main]` or `#[goro::main(processors = N)]`. See the [crate docs](crate).
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Runs an `async fn` test on its own goro runtime.
///
/// `#[goro::test]`, `#[goro::test(processors = N)]`, `#[goro::test(allow_orphans)]`. The test
/// fails if it leaves orphaned tasks behind, unless `allow_orphans` is given. See the
/// [crate docs](crate).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[goro::main]",
            Kind::Test => "#[goro::test]",
        }
    }
}

#[derive(Default)]
struct Args {
    processors: Option<syn::LitInt>,
    /// tokio's `flavor`: `current_thread` is one processor.
    flavor: Option<syn::LitStr>,
    /// tokio's `worker_threads`: the number of processors.
    worker_threads: Option<syn::LitInt>,
    /// Leave out the orphan check of `#[goro::test]`.
    allow_orphans: bool,
    /// `Builder::tokio_compat(true)`; where the flag was written (a missing cargo feature
    /// is reported there).
    tokio_compat: Option<Span>,
}

impl Args {
    /// The processor count the arguments ask for, checking that they agree.
    fn resolve_processors(&self) -> syn::Result<Option<TokenStream2>> {
        let current_thread = match &self.flavor {
            None => false,
            Some(f) if f.value() == "current_thread" => true,
            Some(f) if f.value() == "multi_thread" => false,
            Some(f) => {
                return Err(syn::Error::new_spanned(
                    f,
                    format!(
                        "unknown flavor {:?}: the flavors are \"current_thread\" (one processor) \
                         and \"multi_thread\"",
                        f.value()
                    ),
                ))
            }
        };
        match (&self.processors, &self.worker_threads) {
            (Some(_), Some(w)) => Err(syn::Error::new_spanned(
                w,
                "`worker_threads` and `processors` say the same thing: give one of them",
            )),
            (_, Some(w)) if current_thread => Err(syn::Error::new_spanned(
                w,
                "`worker_threads` needs `flavor = \"multi_thread\"`: the current_thread flavor \
                 runs on one processor",
            )),
            (Some(n), None) if current_thread && n.base10_digits() != "1" => {
                Err(syn::Error::new_spanned(
                    n,
                    "`flavor = \"current_thread\"` runs on one processor: drop `processors` or \
                     make it 1",
                ))
            }
            (Some(n), None) | (None, Some(n)) => Ok(Some(quote!(.processors(#n)))),
            (None, None) if current_thread => Ok(Some(quote!(.processors(1)))),
            (None, None) => Ok(None),
        }
    }
}

/// An integer literal argument above 0, given once.
fn count_arg(meta: &Meta, slot: &mut Option<syn::LitInt>, what: &str) -> syn::Result<()> {
    let name = meta
        .path()
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_default();
    let Meta::NameValue(nv) = meta else {
        return Err(syn::Error::new_spanned(
            meta,
            format!("`{name}` takes a value, as in `{name} = 2`"),
        ));
    };
    if slot.is_some() {
        return Err(syn::Error::new_spanned(
            meta,
            format!("`{name}` is given twice"),
        ));
    }
    let lit = match &nv.value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.clone(),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!("`{name}` takes an integer literal, as in `{name} = 2`"),
            ))
        }
    };
    let n: usize = lit.base10_parse()?;
    if n == 0 {
        return Err(syn::Error::new_spanned(
            &lit,
            format!("`{name}` must be at least 1 (it is {what})"),
        ));
    }
    *slot = Some(lit);
    Ok(())
}

/// A flag argument (`allow_orphans`, `tokio_compat`): no value, given once.
fn flag_arg(meta: &Meta, slot: &mut bool) -> syn::Result<()> {
    let name = meta.path().to_token_stream().to_string();
    if !matches!(meta, Meta::Path(_)) {
        return Err(syn::Error::new_spanned(
            meta,
            format!("`{name}` is a flag and takes no value: write `{name}`"),
        ));
    }
    if *slot {
        return Err(syn::Error::new_spanned(
            meta,
            format!("`{name}` is given twice"),
        ));
    }
    *slot = true;
    Ok(())
}

/// tokio's `flavor = "..."`, given once.
fn flavor_arg(meta: &Meta, slot: &mut Option<syn::LitStr>) -> syn::Result<()> {
    let lit = match meta {
        Meta::NameValue(syn::MetaNameValue {
            value: Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }),
            ..
        }) => lit.clone(),
        _ => {
            return Err(syn::Error::new_spanned(
                meta,
                "`flavor` takes a string, as in `flavor = \"multi_thread\"`",
            ))
        }
    };
    if slot.is_some() {
        return Err(syn::Error::new_spanned(meta, "`flavor` is given twice"));
    }
    *slot = Some(lit);
    Ok(())
}

fn parse_args(kind: Kind, args: TokenStream2) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut out = Args::default();
    for meta in metas {
        let name = meta
            .path()
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match (name.as_str(), &meta) {
            ("processors", _) => count_arg(
                &meta,
                &mut out.processors,
                "the number of processors that run tasks",
            )?,
            ("worker_threads", _) => count_arg(
                &meta,
                &mut out.worker_threads,
                "the number of processors that run tasks",
            )?,
            ("flavor", _) => flavor_arg(&meta, &mut out.flavor)?,
            ("tokio_compat", _) => {
                let mut given = out.tokio_compat.is_some();
                flag_arg(&meta, &mut given)?;
                out.tokio_compat = Some(meta.path().span());
            }
            ("allow_orphans", _) if kind == Kind::Test => flag_arg(&meta, &mut out.allow_orphans)?,
            ("allow_orphans", _) => {
                return Err(syn::Error::new_spanned(
                    &meta,
                    "`allow_orphans` is only accepted by #[goro::test]",
                ))
            }
            _ => {
                let allowed = match kind {
                    Kind::Main => {
                        "`processors = N`, `flavor = \"..\"`, `worker_threads = N` and \
                         `tokio_compat`"
                    }
                    Kind::Test => {
                        "`processors = N`, `flavor = \"..\"`, `worker_threads = N`, \
                         `tokio_compat` and `allow_orphans`"
                    }
                };
                return Err(syn::Error::new_spanned(
                    meta.path(),
                    format!(
                        "unknown argument `{}` for {}; the accepted arguments are {allowed}",
                        meta.path().to_token_stream().to_string().replace(' ', ""),
                        kind.attr(),
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let args = parse_args(kind, args)?;
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = syn::parse2::<ItemFn>(item)?;

    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "{} needs an `async fn`: the `async` keyword is missing",
                kind.attr()
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!("a fn under {} takes no arguments", kind.attr()),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("a fn under {} cannot be generic", kind.attr()),
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new_spanned(v, "variadic fns are not supported"));
    }
    if kind == Kind::Test {
        if let Some(dup) = attrs.iter().find(|a| a.path().is_ident("test")) {
            return Err(syn::Error::new_spanned(
                dup,
                "#[goro::test] already makes this a test: remove the second `#[test]`",
            ));
        }
    }

    let processors = args.resolve_processors()?;
    let name = &sig.ident;
    let output = &sig.output;
    let span = block.span();

    // When the return type is written out, pin the async block's output to it so that `?`
    // in the body knows which error type to convert into.
    let typed_body = match output {
        ReturnType::Type(_, ty) if !contains_impl_trait(ty) => quote_spanned! {span=>
            {
                fn __goro_output<F: ::core::future::Future<Output = O>, O>(f: F) -> F {
                    f
                }
                __goro_output::<_, #ty>(async move #block)
            }
        },
        _ => quote_spanned!(span=> async move #block),
    };

    let test_attr = match kind {
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => quote!(),
    };
    let unsafety = &sig.unsafety;
    let fn_token = &sig.fn_token;
    let rt = syn::Ident::new("__goro_runtime", Span::mixed_site());
    let builder = syn::Ident::new("__goro_builder", Span::mixed_site());
    let processors = processors.map(|p| quote!(#builder #p;));
    let tokio_compat = args
        .tokio_compat
        .map(|at| quote_spanned!(at=> ::goro::__private::tokio_compat(&mut #builder);));
    let out = syn::Ident::new("__goro_result", Span::mixed_site());
    let orphan_check = (kind == Kind::Test && !args.allow_orphans)
        .then(|| quote!(::goro::__private::check_orphans(#rt.handle());));
    let deadlock_check =
        (kind == Kind::Test).then(|| quote!(::goro::__private::check_deadlocks(#rt.handle());));

    Ok(quote! {
        #(#attrs)*
        #test_attr
        #vis #unsafety #fn_token #name() #output {
            let mut #builder = ::goro::Runtime::builder();
            #processors
            #tokio_compat
            let #rt = #builder
                .build()
                .unwrap_or_else(|e| ::core::panic!("goro: cannot start the runtime: {e}"));
            let #out = #rt.block_on(#typed_body);
            #orphan_check
            #deadlock_check
            #out
        }
    })
}

/// Whether a written-out return type mentions `impl Trait`, which cannot be named in the
/// turbofish used to pin the body's output type.
fn contains_impl_trait(ty: &syn::Type) -> bool {
    fn walk(ts: TokenStream2) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "impl",
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

#[cfg(test)]
mod tests {
    use super::{parse_args, Kind, TokenStream2};
    use quote::quote;

    /// The builder call the arguments expand to, or the error message.
    fn processors(args: TokenStream2) -> Result<String, String> {
        parse_args(Kind::Test, args)
            .and_then(|a| a.resolve_processors())
            .map(|p| {
                p.map(|t| t.to_string().replace(' ', ""))
                    .unwrap_or_default()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn tokio_arguments_map_to_processors() {
        assert_eq!(
            processors(quote!(flavor = "current_thread")).unwrap(),
            ".processors(1)"
        );
        assert_eq!(processors(quote!(flavor = "multi_thread")).unwrap(), "");
        assert_eq!(
            processors(quote!(flavor = "multi_thread", worker_threads = 4)).unwrap(),
            ".processors(4)"
        );
        assert_eq!(
            processors(quote!(worker_threads = 2)).unwrap(),
            ".processors(2)"
        );
        assert_eq!(
            processors(quote!(flavor = "current_thread", processors = 1)).unwrap(),
            ".processors(1)"
        );
    }

    #[test]
    fn contradicting_tokio_arguments_are_errors() {
        let err = processors(quote!(flavor = "current_thread", worker_threads = 2)).unwrap_err();
        assert!(err.contains("needs `flavor = \"multi_thread\"`"), "{err}");
        let err = processors(quote!(flavor = "fast")).unwrap_err();
        assert!(err.contains("unknown flavor"), "{err}");
        let err = processors(quote!(processors = 2, worker_threads = 2)).unwrap_err();
        assert!(err.contains("give one of them"), "{err}");
        let err = processors(quote!(flavor = "current_thread", processors = 2)).unwrap_err();
        assert!(err.contains("one processor"), "{err}");
        let err = processors(quote!(worker_threads = 0)).unwrap_err();
        assert!(err.contains("at least 1"), "{err}");
        let err = processors(quote!(flavor = 1)).unwrap_err();
        assert!(err.contains("takes a string"), "{err}");
        let err = processors(quote!(start_paused = true)).unwrap_err();
        assert!(err.contains("unknown argument `start_paused`"), "{err}");
    }

    #[test]
    fn flags_take_no_value_and_come_once() {
        let args = parse_args(Kind::Main, quote!(tokio_compat, flavor = "current_thread"));
        assert!(args.is_ok_and(|a| a.tokio_compat.is_some() && !a.allow_orphans));
        let args = parse_args(Kind::Test, quote!(allow_orphans, tokio_compat));
        assert!(args.is_ok_and(|a| a.tokio_compat.is_some() && a.allow_orphans));
        let err = processors(quote!(tokio_compat = true)).unwrap_err();
        assert!(err.contains("`tokio_compat` is a flag"), "{err}");
        let err = processors(quote!(tokio_compat, tokio_compat)).unwrap_err();
        assert!(err.contains("`tokio_compat` is given twice"), "{err}");
        let err = processors(quote!(allow_orphans = 1)).unwrap_err();
        assert!(err.contains("`allow_orphans` is a flag"), "{err}");
        let err = parse_args(Kind::Main, quote!(allow_orphans)).err().unwrap();
        assert!(err.to_string().contains("only accepted by #[goro::test]"));
    }
}
