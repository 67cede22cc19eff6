/// Splits one string into words the way a POSIX shell would for simple text:
/// single quotes, double quotes (with \" \\ \$ \` escapes), and backslash escapes —
/// except that an apostrophe between two letters (don't) is kept as text.
/// Slash commands hand the user's whole text over as one argument; this recovers
/// the words. Nothing is expanded: `$HOME` stays `$HOME`.
public enum ShellWords {
    /// nil when a quote is left open.
    public static func split(_ text: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = Array(text.unicodeScalars)[...]
        while let c = iterator.popFirst() {
            switch c {
            case " ", "\t", "\n", "\r":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            case "'" where inWord && isWordCharacter(current.unicodeScalars.last) && isWordCharacter(iterator.first):
                // An apostrophe inside a word (don't, Bob's) is text, not a quote: users
                // type prose into slash commands.
                current.unicodeScalars.append(c)
            case "'", "\"":
                inWord = true
                // In double quotes a backslash escapes only these; in single quotes nothing.
                let escapable = c == "\"" ? "\"\\$`\n".unicodeScalars : "".unicodeScalars
                var closed = false
                while let d = iterator.popFirst() {
                    if d == c {
                        closed = true
                        break
                    }
                    if d == "\\", let next = iterator.first, escapable.contains(next) {
                        iterator.removeFirst()
                        if next != "\n" { current.unicodeScalars.append(next) }
                        continue
                    }
                    current.unicodeScalars.append(d)
                }
                if !closed { return nil }
            case "\\":
                inWord = true
                if let next = iterator.popFirst() {
                    if next != "\n" { current.unicodeScalars.append(next) }
                }
            default:
                inWord = true
                current.unicodeScalars.append(c)
            }
        }
        if inWord { words.append(current) }
        return words
    }

    package static func isWordCharacter(_ scalar: Unicode.Scalar?) -> Bool {
        guard let scalar else { return false }
        return scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
    }

    /// Like `split`, but an unbalanced quote (as in "don't") is kept as a literal
    /// character and the text is split on whitespace only.
    public static func splitLeniently(_ text: String) -> [String] {
        if let words = split(text) { return words }
        return text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
    }

    /// Quotes a word for display in a copy-pasteable shell command.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty
            && word.unicodeScalars.allSatisfy({ c in
                (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
                    || "-_./=:@%+,".unicodeScalars.contains(c)
            })
        {
            return word
        }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}
