//! PromQL functions, dispatched by name: range-vector functions ([`range`]), element-wise and
//! date functions on instant vectors ([`instant`]), label manipulation and sorting
//! ([`labels`]), classic histograms ([`histogram`]).

mod histogram;
mod instant;
mod labels;
mod range;

use promql_parser::parser::{Call, Expr};

use crate::engine::eval::{Evaluator, Val};
use crate::error::{Error, Result};

/// Evaluates a function call.
pub(crate) fn call(ev: &mut Evaluator<'_>, call: &Call) -> Result<Val> {
    let name = call.func.name;
    let args: Vec<&Expr> = call.args.args.iter().map(|arg| arg.as_ref()).collect();
    if let Some(val) = range::call(ev, name, &args)? {
        return Ok(val);
    }
    if let Some(val) = instant::call(ev, name, &args)? {
        return Ok(val);
    }
    if let Some(val) = labels::call(ev, name, &args)? {
        return Ok(val);
    }
    if let Some(val) = histogram::call(ev, name, &args)? {
        return Ok(val);
    }
    Err(Error::BadData(format!(
        "function {name:?} is not supported"
    )))
}

/// The `index`-th argument.
pub(crate) fn arg<'e>(args: &[&'e Expr], index: usize, function: &str) -> Result<&'e Expr> {
    args.get(index).copied().ok_or_else(|| {
        Error::BadData(format!(
            "expected at least {} argument(s) in call to {function:?}",
            index + 1
        ))
    })
}
