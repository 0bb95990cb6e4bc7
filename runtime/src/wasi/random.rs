//! WASI state, randomness: cryptographically secure bytes from the host (`getrandom`).

/// Fills `buf` with secure random bytes.
pub fn fill(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::getrandom(buf).map_err(|e| std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_a_buffer() {
        let mut a = [0u8; 64];
        super::fill(&mut a).unwrap();
        assert!(a.iter().any(|&b| b != 0));
        super::fill(&mut []).unwrap();
    }
}
