#include "audit/audit_verify.hpp"

#include "audit/audit_chain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace agora::log::detail {

namespace {

struct FileHead {
    std::string path;
    std::uint64_t first_seq = 0;
};

/// Reads `path` line by line; `on_line(line, number, last_without_newline)`
/// returns false to stop. Returns false if the file cannot be read.
template <class OnLine>
bool for_each_line(const std::string& path, OnLine&& on_line) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        const bool unterminated = in.eof();  // getline stopped at the end, not at a '\n'
        if (!on_line(line, number, unterminated)) return true;
    }
    return !in.bad();
}

}  // namespace

AuditVerifyResult verify_audit_files(const std::vector<std::string>& paths, const AuditVerifyOptions& options) {
    AuditVerifyResult r;
    auto fail = [&r](AuditVerdict verdict, const std::string& file, std::size_t line, std::string problem) {
        r.verdict = verdict;
        r.file = file;
        r.line = line;
        r.problem = std::move(problem);
        return r;
    };

    // Order the files by their first line's sequence number.
    std::vector<FileHead> heads;
    for (const std::string& path : paths) {
        std::string first;
        bool unterminated = false, any = false;
        if (!for_each_line(path, [&](const std::string& line, std::size_t, bool last) {
                first = line;
                unterminated = last;
                any = true;
                return false;
            }))
            return fail(AuditVerdict::unreadable, path, 0, fmt::format("cannot read: {}", std::strerror(errno)));
        if (!any) continue;  // empty: a file just rotated into
        std::string why;
        auto link = parse_audit_line(first, why);
        if (!link)
            return fail(AuditVerdict::broken, path, 1,
                        unterminated ? "the file ends inside its first line (truncated)" : "not an audit line: " + why);
        heads.push_back({path, link->seq});
    }
    std::sort(heads.begin(), heads.end(), [](const FileHead& a, const FileHead& b) { return a.first_seq < b.first_seq; });
    for (std::size_t i = 1; i < heads.size(); ++i)
        if (heads[i].first_seq == heads[i - 1].first_seq)
            return fail(AuditVerdict::broken, heads[i].path, 1,
                        fmt::format("starts at seq {}, as {} does (a copy, or an inserted file)", heads[i].first_seq,
                                    heads[i - 1].path));
    if (heads.empty()) return fail(AuditVerdict::broken, paths.empty() ? "" : paths.front(), 0, "no audit lines");

    std::uint64_t expected = options.allow_partial ? heads.front().first_seq : 1;
    std::string prev_hash(kAuditGenesisHash);
    bool trust_prev = options.allow_partial;  // the first line's link, when older files are gone
    std::string prev_file;
    for (const FileHead& head : heads) {
        r.files.push_back(head.path);
        // The file's lines, parsed once, so that a line out of place can be
        // told apart from a deleted one (where its sequence number is).
        struct Parsed {
            std::optional<AuditLink> link;
            std::string why;
            bool unterminated = false;
        };
        std::vector<Parsed> lines;
        if (!for_each_line(head.path, [&](const std::string& line, std::size_t, bool unterminated) {
                Parsed p;
                p.link = parse_audit_line(line, p.why);
                p.unterminated = unterminated;
                lines.push_back(std::move(p));
                return true;
            }))
            return fail(AuditVerdict::unreadable, head.path, 0, fmt::format("cannot read: {}", std::strerror(errno)));
        auto later_line_with = [&](std::size_t from, std::uint64_t seq) -> std::size_t {
            for (std::size_t k = from; k < lines.size(); ++k)
                if (lines[k].link && lines[k].link->seq == seq) return k + 1;
            return 0;
        };
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const std::size_t n = i + 1;
            const Parsed& p = lines[i];
            auto broken = [&](std::string problem) { return fail(AuditVerdict::broken, head.path, n, std::move(problem)); };
            if (p.unterminated)
                return broken(p.link ? "the last line has no newline (the file was truncated)"
                                     : "the file ends inside a line (truncated)");
            if (!p.link) return broken("not an audit line: " + p.why);
            const AuditLink& link = *p.link;
            if (!link.hash_matches)
                return broken(fmt::format("seq {} was changed: its hash does not match its content", link.seq));
            if (link.seq > expected) {
                if (const std::size_t at = later_line_with(i + 1, expected))
                    return broken(fmt::format("seq {} is out of order: seq {} comes later, at line {} (lines were "
                                              "reordered)",
                                              link.seq, expected, at));
                if (n == 1 && !prev_file.empty())
                    return broken(fmt::format(
                        "starts at seq {} but {} ends at seq {}: lines {} to {} are missing (a rotated file is "
                        "missing, or {} was truncated)",
                        link.seq, prev_file, expected - 1, expected, link.seq - 1, prev_file));
                if (n == 1 && expected == 1)
                    return broken(fmt::format("the chain starts at seq {}: lines 1 to {} are missing (files removed "
                                              "by retention? --allow-partial accepts that)",
                                              link.seq, link.seq - 1));
                return broken(fmt::format("seq {} follows seq {}: {} line(s) deleted before this line", link.seq,
                                          expected - 1, link.seq - expected));
            }
            if (link.seq < expected)
                return broken(fmt::format("seq {} follows seq {}: a line was moved or inserted here", link.seq,
                                          expected - 1));
            if (!trust_prev && link.prev_hash != prev_hash)
                return broken(fmt::format("seq {} does not link to the line before it (its prev_hash differs): "
                                          "a line was replaced or inserted",
                                          link.seq));
            trust_prev = false;
            if (r.lines == 0) r.first_seq = link.seq;
            ++r.lines;
            r.last_seq = link.seq;
            prev_hash = link.hash;
            ++expected;
        }
        prev_file = head.path;
    }
    r.last_hash = prev_hash;
    if (options.expect_last_seq && r.last_seq != *options.expect_last_seq)
        return fail(AuditVerdict::broken, prev_file, 0,
                    r.last_seq < *options.expect_last_seq
                        ? fmt::format("the chain ends at seq {}, not {}: lines {} to {} are missing (the newest file "
                                      "was truncated)",
                                      r.last_seq, *options.expect_last_seq, r.last_seq + 1, *options.expect_last_seq)
                        : fmt::format("the chain ends at seq {}, not {}", r.last_seq, *options.expect_last_seq));
    if (!options.expect_last_hash.empty() && r.last_hash != options.expect_last_hash)
        return fail(AuditVerdict::broken, prev_file, 0,
                    fmt::format("the last hash is {}, not the expected {}", r.last_hash, options.expect_last_hash));
    return r;
}

}  // namespace agora::log::detail
