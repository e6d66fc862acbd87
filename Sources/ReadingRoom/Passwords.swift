import Foundation
import HummingbirdBcrypt

/// Password hashes for the reading room's local accounts: bcrypt (hummingbird-auth's), salted,
/// cost 11 (about 0.1-0.3 s per check here: slow for a guesser, unnoticed at a login).
public enum Passwords {
    static let cost: UInt8 = 11
    public static let minimumLength = 10
    /// Compared against when the account does not exist, so a wrong name costs as long as a
    /// wrong password and response times do not tell which names exist.
    private static let decoy = Bcrypt.hash("wecare-decoy-password", cost: cost)

    public static func hash(_ password: String) -> String { Bcrypt.hash(password, cost: cost) }

    public static func verify(_ password: String, hash: String?) -> Bool {
        guard let hash else {
            _ = Bcrypt.verify(password, hash: decoy)
            return false
        }
        return Bcrypt.verify(password, hash: hash)
    }

    /// Why a new password is refused; nil when it is acceptable.
    public static func problem(with password: String) -> String? {
        if password.count < minimumLength { return "the password has \(password.count) characters; use at least \(minimumLength)" }
        if password.utf8.count > 72 { return "bcrypt reads only the first 72 bytes of a password; use a shorter one" }
        return nil
    }

    /// Account names: letters, digits and . _ - (they appear in the audit trail and in DICOM PN values).
    public static func problem(withName name: String) -> String? {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
        guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
            return "'\(name)' is not a valid account name; use 1 to 64 letters, digits, '.', '_' or '-'"
        }
        return nil
    }
}
