//! render-visa
