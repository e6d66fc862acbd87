import Foundation

/// Maps table paths and keys of a TOML document to their line numbers.
/// TOMLKit parses values but forgets where they came from; an admin needs `FILE:LINE`.
/// Paths look like `gateway`, `gateway.port`, `destination[1]`, `destination[1].tls.certificate`
/// (array-of-tables elements are numbered from 0 in document order).
struct TOMLSourceMap: Sendable {
    private(set) var lines: [String: Int] = [:]

    init(source: String) {
        var arrayCounts: [String: Int] = [:]   // array-of-tables name -> elements seen
        var current = ""                        // resolved path of the table being filled
        var bracketDepth = 0                    // > 0 while inside a multi-line array value
        var inMultilineString: String? = nil    // the delimiter while inside """ or '''
        for (index, raw) in source.components(separatedBy: "\n").enumerated() {
            let lineNumber = index + 1
            if let delimiter = inMultilineString {
                if raw.contains(delimiter) { inMultilineString = nil }
                continue
            }
            let line = Self.stripComment(raw).trimmingCharacters(in: .whitespaces)
            if bracketDepth > 0 {
                bracketDepth += Self.bracketBalance(line)
                continue
            }
            if line.isEmpty { continue }
            if line.hasPrefix("[[") {
                let name = Self.normalizeKey(String(line.dropFirst(2).prefix { $0 != "]" }))
                let resolved = resolve(name, arrayCounts: arrayCounts, isArrayHeader: true)
                let n = arrayCounts[resolved, default: 0]
                arrayCounts[resolved] = n + 1
                current = "\(resolved)[\(n)]"
                record(current, lineNumber)
            } else if line.hasPrefix("[") {
                let name = Self.normalizeKey(String(line.dropFirst().prefix { $0 != "]" }))
                current = resolve(name, arrayCounts: arrayCounts, isArrayHeader: false)
                record(current, lineNumber)
            } else if let eq = Self.assignmentIndex(line) {
                let key = Self.normalizeKey(String(line[..<eq]))
                let path = current.isEmpty ? key : "\(current).\(key)"
                record(path, lineNumber)
                let value = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
                for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                    if value.dropFirst(3).range(of: delimiter) == nil { inMultilineString = delimiter }
                }
                if inMultilineString == nil { bracketDepth = max(0, Self.bracketBalance(value)) }
            }
        }
    }

    /// Line of a key or table, falling back to the closest enclosing table that has one.
    func line(of path: String) -> Int? {
        var candidate = path
        while true {
            if let line = lines[candidate] { return line }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            candidate = String(candidate[..<cut])
        }
    }

    private mutating func record(_ path: String, _ line: Int) {
        if lines[path] == nil { lines[path] = line }
    }

    /// `destination.tls` after `[[destination]]` means the tls table of the latest destination.
    private func resolve(_ name: String, arrayCounts: [String: Int], isArrayHeader: Bool) -> String {
        let parts = name.split(separator: ".").map(String.init)
        var resolved = ""
        for (i, part) in parts.enumerated() {
            resolved = resolved.isEmpty ? part : "\(resolved).\(part)"
            if i < parts.count - 1, let n = arrayCounts[resolved], n > 0 { resolved += "[\(n - 1)]" }
        }
        return resolved
    }

    static func normalizeKey(_ key: String) -> String {
        key.split(separator: ".", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'")) }
            .joined(separator: ".")
    }

    /// Index of the `=` of a `key = value` line, ignoring `=` inside quoted keys.
    static func assignmentIndex(_ line: String) -> String.Index? {
        var quote: Character? = nil
        for i in line.indices {
            let c = line[i]
            if let q = quote { if c == q { quote = nil }; continue }
            if c == "\"" || c == "'" { quote = c } else if c == "=" { return i }
        }
        return nil
    }

    /// The line without its `#` comment (a `#` inside a string is kept).
    static func stripComment(_ line: String) -> String {
        var quote: Character? = nil
        var escaped = false
        for i in line.indices {
            let c = line[i]
            if let q = quote {
                if escaped { escaped = false } else if c == "\\" && q == "\"" { escaped = true } else if c == q { quote = nil }
                continue
            }
            if c == "\"" || c == "'" { quote = c } else if c == "#" { return String(line[..<i]) }
        }
        return line
    }

    /// Opening minus closing brackets outside strings (to follow multi-line arrays).
    static func bracketBalance(_ text: String) -> Int {
        var depth = 0
        var quote: Character? = nil
        for c in text {
            if let q = quote { if c == q { quote = nil }; continue }
            switch c {
            case "\"", "'": quote = c
            case "[": depth += 1
            case "]": depth -= 1
            default: break
            }
        }
        return depth
    }
}
