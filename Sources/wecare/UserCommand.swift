import ArgumentParser
import Foundation
import Gateway
import ReadingRoom

/// Accounts of the reading room, kept in the ledger: `wecare user add NAME --role radiologist`,
/// `wecare user passwd NAME`, `wecare user disable NAME`, `wecare user list`. The password is
/// asked for twice on a terminal (not echoed), or read as one line with `--password-stdin`.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage the reading room's accounts (radiologist, viewer, admin).",
        subcommands: [Add.self, Passwd.self, Disable.self, Enable.self, List.self])

    struct Options: ParsableArguments {
        @Option(name: .long, help: "The configuration file (its data_dir holds the ledger with the accounts).")
        var config: String = "conf/gateway.toml"
        @Flag(name: .long, help: "Read the password as one line from standard input (scripts), not from the terminal.")
        var passwordStdin = false

        func ledger() throws -> SQLiteLedger {
            PrivateFiles.restrictCreatedFiles()
            let configuration: GatewayConfiguration
            do {
                configuration = try ConfigurationLoader.load(URL(fileURLWithPath: config), checkDataDirectory: false)
            } catch let error as ConfigurationError {
                FileHandle.standardError.write(Data((error.description + "\nfix the configuration (see wecare check-config)\n").utf8))
                throw ExitCode(2)
            }
            let data = DataDirectory(configuration.dataDirectory)
            try FileManager.default.createDirectory(at: data.root, withIntermediateDirectories: true)
            return try SQLiteLedger(path: data.ledgerFile)
        }

        /// Disables or enables an account, with its row in the audit trail.
        func setDisabled(_ name: String, _ disabled: Bool) throws {
            let ledger = try ledger()
            try ledger.setDisabled(name: name, disabled, now: Date())
            try ledger.audit(user: "cli", action: disabled ? "user-disable" : "user-enable", job: nil, detail: name, now: Date())
            print("account \(name) \(disabled ? "disabled" : "enabled")")
        }

        func password() throws -> String {
            let first: String
            if passwordStdin || isatty(STDIN_FILENO) == 0 {
                guard let line = readLine(strippingNewline: true) else { throw UserError("no password on standard input") }
                first = line
            } else {
                first = String(cString: getpass("New password: "))
                let again = String(cString: getpass("Again: "))
                guard first == again else { throw UserError("the two passwords differ; nothing changed") }
            }
            if let problem = Passwords.problem(with: first) { throw UserError(problem) }
            return first
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.")
        @Argument(help: "Account name: letters, digits, '.', '_', '-' (it is written into signed reports).") var name: String
        @Option(name: .long, help: "radiologist (reviews and signs), viewer (reads only) or admin (reads, sees the audit trail).")
        var role: String
        @OptionGroup var options: Options

        func run() async throws {
            guard let role = ReviewRole(rawValue: role) else {
                throw UserError("unknown role '\(role)'; use radiologist, viewer or admin")
            }
            if let problem = Passwords.problem(withName: name) { throw UserError(problem) }
            let ledger = try options.ledger()
            if try ledger.account(name: name) != nil { throw UserError(ReviewLedgerError.accountExists(name).description) }
            try ledger.addAccount(name: name, role: role, passwordHash: Passwords.hash(try options.password()), now: Date())
            try ledger.audit(user: "cli", action: "user-add", job: nil, detail: "\(name) as \(role.rawValue)", now: Date())
            print("account \(name) created (\(role.rawValue))")
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an account's password.")
        @Argument var name: String
        @OptionGroup var options: Options

        func run() async throws {
            let ledger = try options.ledger()
            guard try ledger.account(name: name) != nil else { throw UserError(ReviewLedgerError.noSuchAccount(name).description) }
            try ledger.setPassword(name: name, passwordHash: Passwords.hash(try options.password()), now: Date())
            try ledger.audit(user: "cli", action: "user-passwd", job: nil, detail: name, now: Date())
            print("password of \(name) changed")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account (its sessions end at their next request).")
        @Argument var name: String
        @OptionGroup var options: Options

        func run() async throws { try options.setDisabled(name, true) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled account again.")
        @Argument var name: String
        @OptionGroup var options: Options

        func run() async throws { try options.setDisabled(name, false) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts.")
        @OptionGroup var options: Options

        func run() async throws {
            for a in try options.ledger().accounts() {
                print("\(a.name)\t\(a.role.rawValue)\(a.disabled ? "\tdisabled" : "")")
            }
        }
    }
}

/// A refusal of `wecare user` that says what to do; exit status 1.
struct UserError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
