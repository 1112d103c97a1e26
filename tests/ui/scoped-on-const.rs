use scopeflow::prelude::*;

#[scoped("encoder")]
const UNITS: usize = 4;

fn main() {}
