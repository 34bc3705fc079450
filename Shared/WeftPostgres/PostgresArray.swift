/// Text forms of PostgreSQL arrays, for passing a list as one parameter
/// (`unnest($1::text[])`): batch statements stay parameterized however many rows
/// they carry.
public enum PostgresArray {
    /// The array literal for `values`: each element double-quoted with `"` and `\`
    /// escaped, nil as an unquoted NULL.
    public static func literal(_ values: [String?]) -> String {
        var text = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            guard let value else {
                text += "NULL"
                continue
            }
            text += "\""
            for character in value.unicodeScalars {
                if character == "\"" || character == "\\" { text += "\\" }
                text.unicodeScalars.append(character)
            }
            text += "\""
        }
        return text + "}"
    }

    public static func literal(_ values: [String]) -> String {
        literal(values.map { Optional($0) })
    }
}
