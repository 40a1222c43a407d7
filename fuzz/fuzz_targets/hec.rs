#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kansoku_fuzz::fuzz("hec", data));
