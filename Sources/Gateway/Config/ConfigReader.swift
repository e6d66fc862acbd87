import Foundation
import TOMLKit

/// Reads typed values out of TOML tables while collecting every problem with its line.
final class ConfigReader {
    let file: String
    var fileURL: URL { URL(fileURLWithPath: file) }
    let map: TOMLSourceMap
    private(set) var problems: [ConfigProblem] = []

    init(file: String, map: TOMLSourceMap) {
        self.file = file
        self.map = map
    }

    func problem(at path: String, _ message: String) {
        problems.append(ConfigProblem(file: file, line: map.line(of: path), message: message))
    }

    /// A table with its known keys checked; unknown keys are reported with the closest known one.
    func section(_ table: TOMLTable, path: String, known: [String]) -> ConfigSection {
        for key in table.keys where !known.contains(key) {
            var message = "unknown key '\(key)' in [\(displayName(path))]"
            if let guess = closestKey(to: key, among: known) {
                message += "; did you mean '\(guess)'?"
            } else {
                message += "; known keys: \(known.joined(separator: ", "))"
            }
            problem(at: "\(path).\(key)", message)
        }
        return ConfigSection(table: table, path: path, reader: self)
    }

    func displayName(_ path: String) -> String {
        // destination[1] -> destination #2, for people who count from one.
        var out = ""
        var index = ""
        var inIndex = false
        for c in path {
            if c == "[" { inIndex = true; index = ""; continue }
            if c == "]" { inIndex = false; out += " #\((Int(index) ?? 0) + 1)"; continue }
            if inIndex { index.append(c) } else { out.append(c) }
        }
        return out
    }
}

struct ConfigSection {
    let table: TOMLTable
    let path: String
    let reader: ConfigReader

    func has(_ key: String) -> Bool { table.contains(key: key) }
    func keyPath(_ key: String) -> String { "\(path).\(key)" }

    func problem(_ key: String, _ message: String) {
        reader.problem(at: keyPath(key), "\(reader.displayName(path)).\(key): \(message)")
    }

    private func missing(_ key: String, _ hint: String) {
        reader.problem(at: path, "[\(reader.displayName(path))] is missing '\(key)'; add \(key) = \(hint)")
    }

    func string(_ key: String, required hint: String? = nil) -> String? {
        guard let value = table[key] else {
            if let hint { missing(key, hint) }
            return nil
        }
        guard let s = value.string else {
            problem(key, "expected a string in quotes, found a \(value.type)")
            return nil
        }
        return s
    }

    func int(_ key: String, in range: ClosedRange<Int>, required hint: String? = nil) -> Int? {
        guard let value = table[key] else {
            if let hint { missing(key, hint) }
            return nil
        }
        guard let n = value.int else {
            problem(key, "expected a whole number, found a \(value.type)")
            return nil
        }
        guard range.contains(n) else {
            problem(key, "\(n) is out of range; use a value from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return n
    }

    func double(_ key: String, in range: ClosedRange<Double>) -> Double? {
        guard let value = table[key] else { return nil }
        guard let d = value.double ?? value.int.map(Double.init) else {
            problem(key, "expected a number, found a \(value.type)")
            return nil
        }
        guard range.contains(d) else {
            problem(key, "\(d) is out of range; use a value from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return d
    }

    func bool(_ key: String) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let b = value.bool else {
            problem(key, "expected true or false, found a \(value.type)")
            return nil
        }
        return b
    }

    func stringArray(_ key: String) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else {
            problem(key, "expected a list of strings like [\"seg\", \"sr\"], found a \(value.type)")
            return nil
        }
        var out: [String] = []
        for element in array {
            guard let s = element.string else {
                problem(key, "every entry must be a string in quotes")
                return nil
            }
            out.append(s)
        }
        return out
    }

    func table(_ key: String) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let t = value.table else {
            problem(key, "expected a table [\(reader.displayName(path)).\(key)], found a \(value.type)")
            return nil
        }
        return t
    }
}
