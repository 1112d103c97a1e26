use scopeflow::prelude::*;

model! {
    pub struct Tower (reuse = auto) {
        w: [2]
    }
}

fn main() {}
