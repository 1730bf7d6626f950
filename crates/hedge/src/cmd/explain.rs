//! `hedge explain`: the decision chain for one name in one profile.

use std::process::ExitCode;

use crate::cli::ExplainArgs;
use crate::config;

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let loaded = config::load(args.config.as_deref())?;
    let checked = config::check(&loaded)?;
    let policy = &checked.policy;
    let Some(profile) = policy.profile_id(&args.profile) else {
        let names: Vec<&str> = policy.profiles().iter().map(|p| p.name.as_str()).collect();
        crate::usage!(
            "no profile `{}`; profiles: {}",
            args.profile,
            names.join(", ")
        );
    };
    let name = if args.name.is_ascii() {
        args.name.clone()
    } else {
        hedge_lists::normalize(&args.name).unwrap_or(args.name.clone())
    };
    let e = policy.explain(profile, &name);
    println!(
        "{} {}: {}",
        name,
        args.qtype.to_ascii_uppercase(),
        e.verdict
    );
    print!("{e}");
    Ok(ExitCode::SUCCESS)
}
