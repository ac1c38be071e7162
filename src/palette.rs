//! The command palette's small language (`:` in the TUI): one table of commands, with their
//! aliases and a line of help each, that parsing, completion and the palette's own list read.
//! Pure: what a command does to the app is `app`'s business.

use crate::config::Command;

/// What a palette command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// The same as a key's command.
    Run(Command),
    /// `ctx NAME`: another kubeconfig context.
    Context,
    /// `ns NAME` or `ns all`: another namespace, or all of them.
    Namespace,
    /// `use NAME`: a RayCluster's (or a named dashboard's) data in views 1-6.
    Use,
    /// `prom`, `prom NS/NAME[:PORT]`, `prom URL`: find or choose where history comes from.
    Prometheus,
    /// `tune`: the Tune view and the experiments found; `tune NAME`: that experiment's board.
    Tune,
}

/// One command of the palette.
pub struct Entry {
    /// Shown, completed and listed.
    pub name: &'static str,
    /// Also understood.
    pub aliases: &'static [&'static str],
    pub help: &'static str,
    pub verb: Verb,
}

/// Every palette command, in the order the palette lists them.
pub const COMMANDS: &[Entry] = &[
    entry("cluster", &["nodes"], "Cluster view: groups and nodes", Verb::Run(Command::ViewCluster)),
    entry("autoscaler", &["as"], "Autoscaler view: decisions, demands, verdicts", Verb::Run(Command::ViewAutoscaler)),
    entry("serve", &[], "Serve view: applications, deployments, replicas", Verb::Run(Command::ViewServe)),
    entry("tune", &["trials"], "tune: Tune leaderboard and the experiments found | tune NAME: that one", Verb::Tune),
    entry("gpu", &["gpus"], "GPU allocation: who holds each GPU, how busy", Verb::Run(Command::ViewGpu)),
    entry("jobs", &["job"], "Jobs: Ray jobs of the dashboard, RayJobs of Kubernetes", Verb::Run(Command::ViewJobs)),
    entry("kube", &["k8s", "clusters"], "Kubernetes: RayClusters, RayJobs, RayServices", Verb::Run(Command::ViewKube)),
    entry("use", &[], "use NAME: show this RayCluster's dashboard in views 1-6", Verb::Use),
    entry("ctx", &["context"], "ctx NAME: switch kubeconfig context", Verb::Context),
    entry("ns", &["namespace"], "ns NAME | ns all: switch namespace", Verb::Namespace),
    entry(
        "prom",
        &["prometheus"],
        "prom: list Prometheus Services | prom NS/NAME[:PORT] | prom URL: history from it",
        Verb::Prometheus,
    ),
    entry("dead", &[], "Show or fold dead nodes", Verb::Run(Command::ToggleDead)),
    entry("refresh", &[], "Fetch everything now", Verb::Run(Command::Refresh)),
    entry("help", &[], "List the keys", Verb::Run(Command::Help)),
    entry("quit", &["q"], "Quit raytop", Verb::Run(Command::Quit)),
];

const fn entry(name: &'static str, aliases: &'static [&'static str], help: &'static str, verb: Verb) -> Entry {
    Entry { name, aliases, help, verb }
}

/// A typed line, split into its command and the argument after it.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    Empty,
    Known {
        verb: Verb,
        arg: Option<&'a str>,
    },
    /// Not a command; the message names the ones there are.
    Unknown(String),
}

pub fn parse(line: &str) -> Parsed<'_> {
    let mut words = line.split_whitespace();
    let Some(word) = words.next() else { return Parsed::Empty };
    let arg = words.next();
    match COMMANDS.iter().find(|e| e.name == word || e.aliases.contains(&word)) {
        Some(e) => Parsed::Known { verb: e.verb, arg },
        None => {
            let names: Vec<&str> = COMMANDS.iter().map(|e| e.name).collect();
            Parsed::Unknown(format!("unknown command {word:?}: try {}", names.join(", ")))
        }
    }
}

/// Tab: the first command whose name starts with what was typed.
pub fn complete(typed: &str) -> Option<&'static str> {
    COMMANDS.iter().map(|e| e.name).find(|n| n.starts_with(typed.trim()))
}

/// The commands the palette lists while `typed` is being written.
pub fn listed(typed: &str) -> impl Iterator<Item = &'static Entry> + '_ {
    let typed = typed.trim();
    COMMANDS.iter().filter(move |e| typed.is_empty() || e.name.starts_with(typed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_parse_and_unknown_words_list_the_names() {
        assert_eq!(parse("  "), Parsed::Empty);
        assert_eq!(parse("as"), Parsed::Known { verb: Verb::Run(Command::ViewAutoscaler), arg: None });
        assert_eq!(parse("ns all"), Parsed::Known { verb: Verb::Namespace, arg: Some("all") });
        assert_eq!(parse("context lab"), Parsed::Known { verb: Verb::Context, arg: Some("lab") });
        let Parsed::Unknown(msg) = parse("explode now") else { panic!("explode parsed") };
        assert!(msg.starts_with("unknown command \"explode\": try cluster, autoscaler, serve,"), "{msg}");
        assert!(msg.ends_with("help, quit"), "{msg}");
    }

    #[test]
    fn names_and_aliases_are_unique() {
        let mut all: Vec<&str> =
            COMMANDS.iter().flat_map(|e| std::iter::once(e.name).chain(e.aliases.iter().copied())).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a word names two commands");
    }

    #[test]
    fn completion_and_the_list_follow_what_was_typed() {
        assert_eq!(complete("pr"), Some("prom"));
        assert_eq!(complete("zz"), None);
        assert_eq!(listed("").count(), COMMANDS.len());
        assert_eq!(listed("c").map(|e| e.name).collect::<Vec<_>>(), ["cluster", "ctx"]);
    }
}
