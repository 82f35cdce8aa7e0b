//! The page, written in typst. It reads the visa's fields from
//! [`DATA_PATH`](crate::world::DATA_PATH) (formatted by
//! [`View`](crate::render::View)) and the QR code from
//! [`QR_PATH`](crate::world::QR_PATH); data never becomes markup.

/// `visa.typ`, compiled into the binary.
pub const SOURCE: &str = include_str!("visa.typ");
