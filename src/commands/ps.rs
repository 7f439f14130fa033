//! `hull ps [--format table|json] ID [ps args]`: the container's processes, taken from its
//! cgroup (rootless without one: from its pid namespace). JSON is the array of pids (runc's); the table is ps(1)'s output (default `-ef`)
//! filtered to those pids by the header's PID column, as runc does.

use super::Global;
use crate::cgroups;
use crate::cli::PsArgs;
use crate::container::{self, status};
use crate::error::{quote, Context, Error, Result};

/// List processes.
pub fn run(g: &Global, a: &PsArgs) -> Result<i32> {
    let st = container::read_state(&g.root, &a.id)?;
    if !status::derive(&st, &g.root.join(&a.id)).is_live() {
        return Err(Error::NotRunning).with_context(|| a.id.clone());
    }
    let pids = if st.cgroup.is_none() {
        // Rootless without a cgroup: the processes of init's pid namespace.
        status::pid_namespace_members(st.pid).ok_or_else(|| {
            Error::invalid(format!(
                "ps {}: the container has neither a cgroup nor a pid namespace of its own to list its processes by",
                a.id
            ))
        })?
    } else {
        cgroups::pids(&st.cgroup)
    };
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string(&pids).expect("serializes")),
        "table" => print!("{}", table(&pids, &a.ps_args)?),
        f => {
            return Err(Error::invalid(format!(
                "--format: invalid format {} (table or json)",
                quote(f)
            )))
        }
    }
    Ok(0)
}

fn table(pids: &[i32], args: &[String]) -> Result<String> {
    let args: Vec<String> = if args.is_empty() {
        vec!["-ef".into()]
    } else {
        args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("run ps")?;
    if !out.status.success() {
        return Err(Error::Msg(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    filter(&String::from_utf8_lossy(&out.stdout), pids)
}

/// Keep the header and the lines whose PID column is one of `pids`.
pub fn filter(ps_out: &str, pids: &[i32]) -> Result<String> {
    let mut lines = ps_out.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::invalid("ps: its output has no PID column"))?;
    let mut out = format!("{header}\n");
    for l in lines {
        if l.split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| pids.contains(&p))
        {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_by_the_pid_column() {
        let ps = "UID   PID  PPID C STIME TTY TIME CMD\nroot    1     0 0 10:00 ?   00:00:01 init\nroot   42     1 0 10:00 ?   00:00:00 sleep 9\n";
        assert_eq!(
            super::filter(ps, &[42]).unwrap(),
            "UID   PID  PPID C STIME TTY TIME CMD\nroot   42     1 0 10:00 ?   00:00:00 sleep 9\n"
        );
        assert!(super::filter("A B\n1 2\n", &[1]).is_err());
    }
}
