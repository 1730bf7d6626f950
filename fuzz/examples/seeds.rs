//! Writes the seed corpora of every target into `fuzz/corpus/<target>/`, from the project's
//! own test data: DNS queries like those the tests send, list files from
//! crates/lists/tests/data and lists/, index files compiled from them, and the configs of
//! deploy/, tests/configs/ and the built-in one. Run by `fuzz/seed.sh`.

use std::fs;
use std::path::{Path, PathBuf};

use hedge_lists::{Compiler, Format, Taxonomy};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RecordType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = fuzz.join("..");
    let corpus = fuzz.join("corpus");
    let mut n = 0;
    n += packets(&corpus)?;
    n += lists(&repo, &corpus.join("list_formats"))?;
    n += lists(&repo, &corpus.join("list_compile"))?;
    n += indexes(&repo, &corpus.join("index_load"))?;
    n += configs(&repo, &corpus.join("config_load"))?;
    println!("wrote {n} seeds under {}", corpus.display());
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<usize> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(name), bytes)?;
    Ok(1)
}

/// Queries for listed, allowed, rewritten, bypass and upstream-special names (see
/// `hedge_fuzz::start_upstream`), over the types the tests use, with and without EDNS; the
/// id picks UDP, TCP or a refused client in `packet_handle`.
fn packets(corpus: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let names = [
        "bet365.com.",
        "www.BET365.com.",
        "ok.bet365.com.",
        "nude.example.",
        "chatroom.example.",
        "adtracker.net.",
        "netflix.com.",
        "blocked.test.",
        "watchlive.channel4.com.",
        "www.google.com.",
        "www.youtube.com.",
        "www.bing.com.",
        "use-application-dns.net.",
        "mask.icloud.com.",
        "_dns.resolver.arpa.",
        "cname.bet365.com.",
        "cname.www.example.com.",
        "nx.example.com.",
        "www.example.com.",
        "xn--bcher-kva.example.",
        ".",
    ];
    let types = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::HTTPS,
        RecordType::TXT,
        RecordType::MX,
        RecordType::CNAME,
        RecordType::ANY,
        RecordType::AXFR,
    ];
    let mut count = 0;
    for (i, name) in names.iter().enumerate() {
        for (j, rtype) in types.iter().enumerate() {
            // Ids: even low byte = UDP, odd = TCP, low bits 0x0e = a refused client.
            let id = [0x1000, 0x1001, 0x100e][(i + j) % 3];
            let mut m = Message::new(id, MessageType::Query, OpCode::Query);
            m.metadata.recursion_desired = true;
            m.add_query(Query::query(Name::from_ascii(name)?, *rtype));
            if (i + j) % 2 == 0 {
                let mut edns = Edns::new();
                edns.set_max_payload(1232);
                edns.set_dnssec_ok(j % 4 == 0);
                m.set_edns(edns);
            }
            let bytes = m.to_vec()?;
            let file = format!("q-{i:02}-{j}");
            count += write(&corpus.join("packet_parse"), &file, &bytes)?;
            count += write(&corpus.join("packet_handle"), &file, &bytes)?;
        }
    }
    // Edges: class CH, two questions, NOTIFY, EDNS version 1, a response, a short packet.
    let mut odd = Vec::new();
    let mut m = Message::new(0x2000, MessageType::Query, OpCode::Query);
    let mut q = Query::query(Name::from_ascii("version.bind.")?, RecordType::TXT);
    q.set_query_class(DNSClass::CH);
    m.add_query(q);
    odd.push(m.to_vec()?);
    let mut m = Message::new(0x2002, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(Name::from_ascii("a.example.")?, RecordType::A));
    m.add_query(Query::query(Name::from_ascii("b.example.")?, RecordType::A));
    odd.push(m.to_vec()?);
    let mut m = Message::new(0x2004, MessageType::Query, OpCode::Notify);
    m.add_query(Query::query(
        Name::from_ascii("example.com.")?,
        RecordType::SOA,
    ));
    odd.push(m.to_vec()?);
    let mut m = Message::new(0x2006, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("www.example.com.")?,
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.set_version(1);
    m.set_edns(edns);
    odd.push(m.to_vec()?);
    let mut m = Message::new(0x2008, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("www.example.com.")?,
        RecordType::A,
    ));
    odd.push(m.to_vec()?);
    odd.push(vec![0x20, 0x0a, 1, 0, 0, 1]);
    for (k, bytes) in odd.iter().enumerate() {
        let file = format!("edge-{k}");
        count += write(&corpus.join("packet_parse"), &file, bytes)?;
        count += write(&corpus.join("packet_handle"), &file, bytes)?;
    }
    Ok(count)
}

/// The format byte `list_formats` reads first (its order of formats).
fn format_byte(format: Format) -> u8 {
    match format {
        Format::Plain => 0,
        Format::Hosts => 1,
        Format::Adblock => 2,
        Format::Ut1 => 3,
        Format::Rpz => 4,
    }
}

/// Uncompressed list files with their formats (compressed ones are read by `read::open`,
/// which works on files; the fuzzer feeds text).
fn list_files(repo: &Path) -> Vec<(PathBuf, Format)> {
    let data = repo.join("crates/lists/tests/data");
    let mut files = vec![
        (data.join("adblock.txt"), Format::Adblock),
        (data.join("bad-lines.txt"), Format::Plain),
        (data.join("blocklistproject-gambling.txt"), Format::Hosts),
        (data.join("hosts-mixed.txt"), Format::Hosts),
        (data.join("shadowwhisperer-risk.txt"), Format::Plain),
        (data.join("zone.rpz"), Format::Rpz),
        (data.join("ut1/dating/domains"), Format::Ut1),
        (data.join("ut1/doh/domains"), Format::Ut1),
        (data.join("ut1/dynamic-dns/domains"), Format::Ut1),
        (data.join("ut1/gambling/urls"), Format::Ut1),
    ];
    for dir in ["lists/custom", "lists/starter"] {
        let mut more: Vec<_> = fs::read_dir(repo.join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        more.sort();
        files.extend(more.into_iter().map(|p| (p, Format::Plain)));
    }
    files
}

fn lists(repo: &Path, dir: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let mut count = 0;
    for (path, format) in list_files(repo) {
        let mut bytes = vec![format_byte(format)];
        bytes.extend(fs::read(&path)?);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        count += write(dir, &format!("{format}-{name}"), &bytes)?;
    }
    Ok(count)
}

/// One small index per test list, and one of all the custom lists together.
fn indexes(repo: &Path, dir: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let taxonomy = Taxonomy::builtin();
    let mut count = 0;
    let files = list_files(repo);
    let mut groups: Vec<Vec<&(PathBuf, Format)>> = files
        .iter()
        .filter(|(p, _)| !p.starts_with(repo.join("lists/starter")))
        .map(|f| vec![f])
        .collect();
    groups.push(
        files
            .iter()
            .filter(|(p, _)| p.starts_with(repo.join("lists/custom")))
            .collect(),
    );
    for (k, group) in groups.iter().enumerate() {
        let mut compiler = Compiler::new(&taxonomy);
        compiler.keep_covered(k % 2 == 1);
        for (i, (path, format)) in group.iter().enumerate() {
            let category = [
                "gambling",
                "adult-material",
                "internet-communication/web-chat",
            ][i % 3];
            compiler.add_text(
                &format!("s{i}"),
                *format,
                &[category.into()],
                &fs::read(path)?,
                &path.display().to_string(),
            )?;
        }
        if let Ok(compiled) = compiler.finish(&mut |_| {}) {
            count += write(dir, &format!("index-{k:02}.hidx"), &compiled.bytes)?;
        }
    }
    Ok(count)
}

fn configs(repo: &Path, dir: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let mut files = vec![repo.join("crates/hedge/src/default.toml")];
    for folder in ["deploy", "tests/configs/good", "tests/configs/bad"] {
        let mut more: Vec<_> = fs::read_dir(repo.join(folder))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        more.sort();
        files.extend(more);
    }
    let mut count = 0;
    for path in files {
        let parent = path.parent().and_then(Path::file_name).unwrap_or_default();
        let name = path.file_name().unwrap_or_default();
        let file = format!("{}-{}", parent.to_string_lossy(), name.to_string_lossy());
        count += write(dir, &file, &fs::read(&path)?)?;
    }
    Ok(count)
}
