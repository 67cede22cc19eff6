#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// Text from the model, from files or from arguments is shown on the user's terminal only
/// through these functions: control characters (C0 but newline and tab, DEL, C1) and
/// the invisible bidirectional controls are replaced by a visible escape, so that such
/// text can never move the cursor, change colours, set the window title (OSC) or reorder
/// what the user reads. `--json` output carries the exact text instead.
public enum Printable {
    /// Multi-line text for human output: newlines and tabs stay.
    public static func neutralized(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                out.append(contentsOf: escape(scalar).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// One line: also escapes newlines and tabs.
    public static func singleLine(_ text: String) -> String {
        neutralized(text).replacingNewlines()
    }

    /// A short rendering of user input for an error message: at most 40 characters, every
    /// control escaped.
    public static func clipped(_ text: String, limit: Int = 40) -> String {
        let scalars = text.unicodeScalars
        let head = String(String.UnicodeScalarView(scalars.prefix(limit)))
        return singleLine(head) + (scalars.count > limit ? "…" : "")
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A: return false
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    static func escape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        if scalar.value <= 0xFF { return "\\x" + (hex.count < 2 ? "0" + hex : hex) }
        return "\\u{" + hex + "}"
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        var out = ""
        for character in self {
            switch character {
            case "\n": out += "\\n"
            case "\r\n": out += "\\r\\n"
            case "\t": out += "\\t"
            default: out.append(character)
            }
        }
        return out
    }
}
