//! Malformed input through the command line: config files, pipelines and
//! `ember predict` inputs. Every command must exit non-zero with an error
//! that names the file (and the line and field where there is one), never
//! panic. `cargo test --test cli_corpus -- --nocapture` prints the table
//! (command, exit code, first line of the error).

use std::path::Path;
use std::process::Command;

fn ember(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ember"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const SCHEMA: &str = "labels = [\"y\"]\n[[fields]]\nname = \"x\"\nkind = \"numeric\"\nnormalisation = \"standard\"\n[[fields]]\nname = \"c\"\nkind = \"categorical\"\n";

#[test]
fn bad_files_on_the_command_line_exit_non_zero_with_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A small CSV dataset and a logistic regression trained on it.
    let rows: String = (0..200)
        .map(|i| {
            format!(
                "{},{},{}\n",
                i % 2,
                (i % 7) as f32 * 0.5,
                ["a", "b", "c"][i % 3]
            )
        })
        .collect();
    write(d, "schema.toml", SCHEMA);
    write(d, "train.csv", &format!("y,x,c\n{rows}"));
    let run = |name: &str, extra: &str| {
        format!(
            "name = \"{name}\"\noutput_dir = \"runs\"\ndevice = \"flex\"\n[data]\nsource = \"csv\"\ntrain = \"train.csv\"\ntest = \"train.csv\"\nschema = \"schema.toml\"\n[model]\nkind = \"lr\"\n[train]\nepochs = 1\nbatch_size = 64\n{extra}"
        )
    };
    write(d, "good.toml", &run("lr", ""));
    let (code, _, err) = ember(d, &["train", "--config", "good.toml"]);
    assert_eq!(code, 0, "{err}");
    let model = "runs/lr/artifact";

    write(d, "unknown_key.toml", &run("x", "lrr = 0.1\n"));
    write(d, "bad_type.toml", &run("x", "lr = \"fast\"\n"));
    write(d, "not_toml.toml", "name = \"x\n");
    write(
        d,
        "online.toml",
        "name = \"o\"\n[stream]\npath = \"s\"\nschema = \"schema.toml\"\n",
    );
    write(d, "nan.csv", "y,x,c\n1,0.5,a\n0,nan,b\n");
    write(d, "open_quote.csv", "y,x,c\n1,0.5,a\n0,1.0,\"b\n");
    write(d, "empty.csv", "");
    write(d, "short.csv", "y,x,c\n1,0.5\n");
    write(
        d,
        "pipeline_unknown.toml",
        "name = \"p\"\nkk = 10\n[catalog]\ndata = { source = \"ml100k-retrieval\" }\n[[recall]]\nkind = \"most_popular\"\nquota = 10\n",
    );
    write(
        d,
        "bad_stream.toml",
        "name = \"o\"\n[stream]\npath = \"nowhere\"\nschema = \"schema.toml\"\n",
    );

    // (command, what the error must name)
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (vec!["train", "--config", "missing.toml"], &["missing.toml"]),
        (
            vec!["train", "--config", "unknown_key.toml"],
            &["unknown_key.toml", "lrr"],
        ),
        (
            vec!["train", "--config", "bad_type.toml"],
            &["bad_type.toml", "lr"],
        ),
        (
            vec!["train", "--config", "not_toml.toml"],
            &["not_toml.toml"],
        ),
        (
            vec!["train", "--config", "online.toml"],
            &["online.toml", "ember online"],
        ),
        (vec!["online", "--config", "bad_stream.toml"], &["nowhere"]),
        (
            vec!["predict", "--model", model, "--input", "nan.csv"],
            &["nan.csv", "line 3", "'x'"],
        ),
        (
            vec!["predict", "--model", model, "--input", "open_quote.csv"],
            &["open_quote.csv", "line 3", "never closed"],
        ),
        (
            vec!["predict", "--model", model, "--input", "empty.csv"],
            &["empty.csv", "empty file"],
        ),
        (
            vec!["predict", "--model", model, "--input", "short.csv"],
            &["short.csv", "line 2"],
        ),
        (
            vec!["predict", "--model", model, "--input", "missing.csv"],
            &["missing.csv"],
        ),
        (
            vec!["predict", "--model", "runs/nothing", "--input", "train.csv"],
            &["runs/nothing"],
        ),
        (
            vec!["serve", "--pipeline", "pipeline_unknown.toml"],
            &["pipeline_unknown.toml", "kk"],
        ),
        (
            vec!["serve", "--pipeline", "missing.toml"],
            &["missing.toml"],
        ),
    ];
    let mut table = String::from("| command | exit | first line of the error |\n|---|---|---|\n");
    let mut problems = Vec::new();
    for (args, names) in &cases {
        let (code, _, stderr) = ember(d, args);
        let error = stderr
            .lines()
            .find(|l| l.starts_with("error:") && !l.contains("XDG_RUNTIME_DIR"))
            .unwrap_or("")
            .to_owned();
        table.push_str(&format!(
            "| `ember {}` | {code} | {} |\n",
            args.join(" "),
            error
                .replace(&d.display().to_string(), "…")
                .replace('|', "\\|")
        ));
        if code == 0 {
            problems.push(format!("{args:?} exited 0"));
        }
        if stderr.contains("panicked") {
            problems.push(format!("{args:?} panicked: {stderr}"));
        }
        for name in *names {
            if !stderr.contains(name) {
                problems.push(format!("{args:?}: no '{name}' in: {error}"));
            }
        }
    }
    println!("{table}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
